#version 450
// Vertical gradient behind the scene (sRGB-encoded colours, blended in linear light).
layout(push_constant) uniform Push {
    vec4 top;
    vec4 bottom;
} pc;

layout(location = 0) in float vV;
layout(location = 0) out vec4 outColor;

void main() {
    vec3 top = pow(pc.top.rgb, vec3(2.2));
    vec3 bottom = pow(pc.bottom.rgb, vec3(2.2));
    vec3 c = mix(top, bottom, clamp(vV, 0.0, 1.0));
    outColor = vec4(pow(c, vec3(1.0 / 2.2)), 1.0);
}
