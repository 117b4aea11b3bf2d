// Shared by mesh.frag and mesh_oit.frag: headlight key light + fill + Blinn-Phong specular +
// slight ambient, in linear light. Two-sided: faces seen from behind (the inside of a cut
// surface) use the flipped normal and are dimmed a little, so they read as "inside" without
// going black. Returns the sRGB-encoded colour the targets store.
const vec3 kKeyDir = normalize(vec3(-0.25, 0.35, 1.0)); // towards the light, view space
const vec3 kFillDir = normalize(vec3(0.7, -0.35, 0.5));
const float kAmbient = 0.10;
const float kKey = 0.80;
const float kFill = 0.25;
const float kSpecular = 0.28;
const float kShininess = 40.0;

vec3 shade(vec3 viewPosition, vec3 viewNormal, vec3 srgbColor, bool frontFacing) {
    vec3 n = normalize(viewNormal);
    if (!frontFacing) n = -n;
    vec3 v = normalize(-viewPosition);
    vec3 base = pow(srgbColor, vec3(2.2));

    float key = max(dot(n, kKeyDir), 0.0);
    float fill = max(dot(n, kFillDir), 0.0);
    vec3 h = normalize(kKeyDir + v);
    float spec = key > 0.0 ? pow(max(dot(n, h), 0.0), kShininess) : 0.0;

    vec3 c = base * (kAmbient + kKey * key + kFill * fill) + vec3(kSpecular * spec);
    if (!frontFacing) c *= 0.6;
    return pow(clamp(c, 0.0, 1.0), vec3(1.0 / 2.2));
}
