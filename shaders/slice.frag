#version 450
// Window/level of the CT (trilinear) with the label map (nearest) blended over it.
// Mode bits (push constant frame.a): 1 = draw a 2-pixel frame in the frame colour, 2 = no image
// (frame only), 4 = discard outside the volume (3D planes; 2D views show black there).
layout(set = 0, binding = 0) uniform sampler3D uCt;
layout(set = 0, binding = 1) uniform usampler3D uLabels;
layout(set = 0, binding = 2) uniform Palette {
    vec4 colors[256]; // sRGB-encoded colour, alpha = opacity (0: label not shown)
} uPalette;

layout(push_constant) uniform Push {
    vec4 cornerClip[4];
    vec4 tex0;
    vec4 tex1;
    vec4 tex2;
    vec4 frame;
} pc;

layout(location = 0) in vec3 vTex;
layout(location = 1) in vec2 vQuad;
layout(location = 0) out vec4 outColor;

void main() {
    int mode = int(pc.frame.a + 0.5);
    if ((mode & 1) != 0) {
        vec2 edge = min(vQuad, 1.0 - vQuad) / max(fwidth(vQuad), vec2(1e-6));
        if (min(edge.x, edge.y) < 2.0) {
            outColor = vec4(pc.frame.rgb, 1.0);
            return;
        }
    }
    if ((mode & 2) != 0) discard;
    if (any(lessThan(vTex, vec3(0.0))) || any(greaterThan(vTex, vec3(1.0)))) {
        if ((mode & 4) != 0) discard;
        outColor = vec4(0.0, 0.0, 0.0, 1.0);
        return;
    }
    float v = texture(uCt, vTex).r;
    float g = clamp((v - pc.tex0.w) / max(pc.tex1.w, 1e-12), 0.0, 1.0);
    ivec3 size = textureSize(uLabels, 0);
    ivec3 ijk = clamp(ivec3(floor(vTex * vec3(size))), ivec3(0), size - 1);
    uint label = texelFetch(uLabels, ijk, 0).r;
    vec4 lc = uPalette.colors[label];
    vec3 c = mix(vec3(g), lc.rgb, clamp(lc.a * pc.tex2.w, 0.0, 1.0));
    outColor = vec4(c, 1.0);
}
