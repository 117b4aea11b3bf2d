#version 450
// Surface meshes in LPS mm. Lighting happens in view space (camera at the origin, looking -z).
layout(push_constant) uniform Push {
    mat4 clipFromWorld;
    vec4 viewRow0; // rows of the rigid viewFromWorld (rotation | translation)
    vec4 viewRow1;
    vec4 viewRow2;
    vec4 color;    // sRGB-encoded RGBA
} pc;

// Clipping (SceneRenderer's ClipState): keep dot(plane.xyz, p) + plane.w >= 0 and
// boxMin <= p <= boxMax; disabled parts hold values that never clip.
layout(set = 0, binding = 0) uniform Clip {
    vec4 plane;
    vec4 boxMin;
    vec4 boxMax;
} clip;

layout(location = 0) in vec3 inPosition;
layout(location = 1) in vec3 inNormal;
layout(location = 2) in vec4 inColor; // per vertex, multiplies pc.color (white by default)

layout(location = 0) out vec3 vViewPosition;
layout(location = 1) out vec3 vViewNormal;
layout(location = 2) out vec4 vColor;

void main() {
    vec4 p = vec4(inPosition, 1.0);
    vViewPosition = vec3(dot(pc.viewRow0, p), dot(pc.viewRow1, p), dot(pc.viewRow2, p));
    vViewNormal = vec3(dot(pc.viewRow0.xyz, inNormal), dot(pc.viewRow1.xyz, inNormal),
                       dot(pc.viewRow2.xyz, inNormal));
    vColor = inColor;
    gl_Position = pc.clipFromWorld * p;
    gl_ClipDistance[0] = dot(clip.plane.xyz, inPosition) + clip.plane.w;
    gl_ClipDistance[1] = inPosition.x - clip.boxMin.x;
    gl_ClipDistance[2] = inPosition.y - clip.boxMin.y;
    gl_ClipDistance[3] = inPosition.z - clip.boxMin.z;
    gl_ClipDistance[4] = clip.boxMax.x - inPosition.x;
    gl_ClipDistance[5] = clip.boxMax.y - inPosition.y;
    gl_ClipDistance[6] = clip.boxMax.z - inPosition.z;
}
