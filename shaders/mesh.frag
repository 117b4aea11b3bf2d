#version 450
#extension GL_GOOGLE_include_directive : require
// Opaque surfaces (lighting.glsl).
layout(push_constant) uniform Push {
    mat4 clipFromWorld;
    vec4 viewRow0;
    vec4 viewRow1;
    vec4 viewRow2;
    vec4 color;
} pc;

layout(location = 0) in vec3 vViewPosition;
layout(location = 1) in vec3 vViewNormal;
layout(location = 2) in vec4 vColor;
layout(location = 0) out vec4 outColor;

#include "lighting.glsl"

void main() {
    outColor = vec4(shade(vViewPosition, vViewNormal, pc.color.rgb * vColor.rgb, gl_FrontFacing),
                    pc.color.a * vColor.a);
}
