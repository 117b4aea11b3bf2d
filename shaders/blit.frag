#version 450
// Copies the 3D view's resolved image (SceneRenderer's own pass) into the viewport: 1:1 with a
// nearest sampler for a still frame, magnified with a linear one for a reduced interactive frame.
layout(set = 0, binding = 0) uniform sampler2D uScene;
layout(push_constant) uniform Push {
    vec2 viewportOrigin; // pixels
    vec2 viewSize;       // the size the frame was prepared for, pixels
} pc;
layout(location = 0) out vec4 outColor;

void main() {
    vec2 uv = (gl_FragCoord.xy - pc.viewportOrigin) / pc.viewSize;
    outColor = vec4(texture(uScene, uv).rgb, 1.0);
}
