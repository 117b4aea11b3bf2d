#version 450
// Copies the 3D view's resolved image (SceneRenderer's own pass) 1:1 into the viewport.
layout(set = 0, binding = 0) uniform sampler2D uScene;
layout(push_constant) uniform Push {
    vec2 viewportOrigin; // pixels
} pc;
layout(location = 0) out vec4 outColor;

void main() {
    ivec2 size = textureSize(uScene, 0);
    ivec2 p = clamp(ivec2(gl_FragCoord.xy - pc.viewportOrigin), ivec2(0), size - 1);
    outColor = vec4(texelFetch(uScene, p, 0).rgb, 1.0);
}
