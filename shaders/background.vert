#version 450
// Full-viewport triangle; v = 0 at the top edge, 1 at the bottom.
layout(location = 0) out float vV;

void main() {
    vec2 uv = vec2((gl_VertexIndex << 1) & 2, gl_VertexIndex & 2);
    vV = uv.y;
    gl_Position = vec4(uv * 2.0 - 1.0, 1.0, 1.0);
}
