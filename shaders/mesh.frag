#version 450
// Headlight key light + fill + Blinn-Phong specular + slight ambient, in linear light.
// Two-sided: faces seen from behind (the inside of a cut surface) use the flipped normal and are
// dimmed a little, so they read as "inside" without going black.
layout(push_constant) uniform Push {
    mat4 clipFromWorld;
    vec4 viewRow0;
    vec4 viewRow1;
    vec4 viewRow2;
    vec4 color;
} pc;

layout(location = 0) in vec3 vViewPosition;
layout(location = 1) in vec3 vViewNormal;
layout(location = 0) out vec4 outColor;

const vec3 kKeyDir = normalize(vec3(-0.25, 0.35, 1.0)); // towards the light, view space
const vec3 kFillDir = normalize(vec3(0.7, -0.35, 0.5));
const float kAmbient = 0.10;
const float kKey = 0.80;
const float kFill = 0.25;
const float kSpecular = 0.28;
const float kShininess = 40.0;

void main() {
    vec3 n = normalize(vViewNormal);
    if (!gl_FrontFacing) n = -n;
    vec3 v = normalize(-vViewPosition);
    vec3 base = pow(pc.color.rgb, vec3(2.2));

    float key = max(dot(n, kKeyDir), 0.0);
    float fill = max(dot(n, kFillDir), 0.0);
    vec3 h = normalize(kKeyDir + v);
    float spec = key > 0.0 ? pow(max(dot(n, h), 0.0), kShininess) : 0.0;

    vec3 c = base * (kAmbient + kKey * key + kFill * fill) + vec3(kSpecular * spec);
    if (!gl_FrontFacing) c *= 0.6;
    outColor = vec4(pow(clamp(c, 0.0, 1.0), vec3(1.0 / 2.2)), pc.color.a);
}
