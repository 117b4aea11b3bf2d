#version 450
// oit_composite.frag for multisampled targets: accum and reveal are averaged over the samples
// (per-pixel, so no sample-rate shading is needed); the result is written to every sample.
layout(input_attachment_index = 0, set = 0, binding = 0) uniform subpassInputMS uAccum;
layout(input_attachment_index = 1, set = 0, binding = 1) uniform subpassInputMS uReveal;
layout(push_constant) uniform Push {
    int samples;
} pc;
layout(location = 0) out vec4 outColor;

void main() {
    vec4 accum = vec4(0.0);
    float reveal = 0.0;
    for (int s = 0; s < pc.samples; ++s) {
        accum += subpassLoad(uAccum, s);
        reveal += subpassLoad(uReveal, s).r;
    }
    reveal /= float(pc.samples);
    if (reveal >= 0.9999) discard;
    accum /= float(pc.samples);
    vec3 avg = accum.rgb / clamp(accum.a, 1e-4, 5e4);
    outColor = vec4(avg, 1.0 - reveal);
}
