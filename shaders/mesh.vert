#version 450
// Surface meshes in LPS mm. Lighting happens in view space (camera at the origin, looking -z).
layout(push_constant) uniform Push {
    mat4 clipFromWorld;
    vec4 viewRow0; // rows of the rigid viewFromWorld (rotation | translation)
    vec4 viewRow1;
    vec4 viewRow2;
    vec4 color;    // sRGB-encoded RGBA
} pc;

layout(location = 0) in vec3 inPosition;
layout(location = 1) in vec3 inNormal;

layout(location = 0) out vec3 vViewPosition;
layout(location = 1) out vec3 vViewNormal;

void main() {
    vec4 p = vec4(inPosition, 1.0);
    vViewPosition = vec3(dot(pc.viewRow0, p), dot(pc.viewRow1, p), dot(pc.viewRow2, p));
    vViewNormal = vec3(dot(pc.viewRow0.xyz, inNormal), dot(pc.viewRow1.xyz, inNormal),
                       dot(pc.viewRow2.xyz, inNormal));
    gl_Position = pc.clipFromWorld * p;
}
