#version 450
#extension GL_GOOGLE_include_directive : require
// Translucent surfaces, weighted blended order-independent transparency (McGuire & Bavoil 2013):
// every translucent fragment adds its premultiplied colour times a depth weight to `accum`
// (additive blending) and multiplies `reveal` by (1 - alpha); oit_composite.frag resolves the
// two over the opaque image. The result does not depend on draw order, so nested structures (a
// canal inside translucent bone) need no sorting.
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
layout(location = 0) out vec4 outAccum;
layout(location = 1) out float outReveal;

#include "lighting.glsl"

void main() {
    vec3 c = shade(vViewPosition, vViewNormal, pc.color.rgb * vColor.rgb, gl_FrontFacing);
    float a = clamp(pc.color.a * vColor.a, 0.0, 1.0);
    // Nearer fragments weigh more (the paper's eq. 7 on window-space depth); the clamp keeps
    // 16-bit float accumulation in range.
    float z = gl_FragCoord.z;
    float w = clamp(a * 3e3 * pow(1.0 - z, 3.0), 1e-2, 3e3);
    outAccum = vec4(c * a, a) * w;
    outReveal = a;
}
