#version 450
// Resolves weighted blended OIT (mesh_oit.frag) over the opaque image; single-sample targets.
// Blending (SRC_ALPHA, ONE_MINUS_SRC_ALPHA) puts the average translucent colour over what is
// behind with coverage 1 - reveal.
layout(input_attachment_index = 0, set = 0, binding = 0) uniform subpassInput uAccum;
layout(input_attachment_index = 1, set = 0, binding = 1) uniform subpassInput uReveal;
layout(location = 0) out vec4 outColor;

void main() {
    float reveal = subpassLoad(uReveal).r;
    if (reveal >= 0.9999) discard; // nothing translucent here
    vec4 accum = subpassLoad(uAccum);
    vec3 avg = accum.rgb / clamp(accum.a, 1e-4, 5e4);
    outColor = vec4(avg, 1.0 - reveal);
}
