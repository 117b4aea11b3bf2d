#version 450
// A slice of the volume on a quad: the 2D slice views (quad = the viewport) and the slice planes
// in the 3D view (quad = the plane's rectangle in clip space). Texture coordinates are affine in
// the plane, so the three corners given are enough (the fourth is tex1 + tex2 - tex0).
layout(push_constant) uniform Push {
    vec4 cornerClip[4]; // clip-space corners: (0,0), (1,0), (0,1), (1,1) of the quad
    vec4 tex0;          // xyz: texture coordinate at quad (0,0); w: window low (texture units)
    vec4 tex1;          // xyz: at (1,0); w: window width (texture units)
    vec4 tex2;          // xyz: at (0,1); w: label overlay opacity
    vec4 frame;         // rgb: frame colour; a: mode (slice.frag)
} pc;

layout(location = 0) out vec3 vTex;
layout(location = 1) out vec2 vQuad;

void main() {
    int i = gl_VertexIndex;
    vec2 q = vec2(float(i & 1), float(i >> 1));
    vQuad = q;
    vTex = pc.tex0.xyz + q.x * (pc.tex1.xyz - pc.tex0.xyz) + q.y * (pc.tex2.xyz - pc.tex0.xyz);
    gl_Position = pc.cornerClip[i];
}
