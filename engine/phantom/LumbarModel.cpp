#include "phantom/LumbarModel.h"

#include "core/Assert.h"
#include "phantom/detail/Sdf.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <numbers>
#include <string>

namespace precis::phantom {

using detail::Aabb;
using detail::Frame;
using detail::Primitive;
using detail::PrimType;

namespace detail {

Aabb primitiveBounds(const Primitive& pr) {
    Aabb b;
    switch (pr.type) {
    case PrimType::Ellipsoid:
    case PrimType::RoundBox:
    case PrimType::RoundedPrism: {
        glm::dvec3 ext(0.0);
        for (int i = 0; i < 3; ++i) {
            for (int j = 0; j < 3; ++j) {
                const double c = pr.frame.axes[j][i] * pr.a[j];
                ext[i] += pr.type == PrimType::Ellipsoid ? c * c : std::abs(c);
            }
            if (pr.type == PrimType::Ellipsoid) ext[i] = std::sqrt(ext[i]);
        }
        b.lo = pr.frame.origin - ext;
        b.hi = pr.frame.origin + ext;
        break;
    }
    case PrimType::Capsule: {
        const double r = std::max(pr.r0, pr.r1);
        b.add(pr.p0);
        b.add(pr.p1);
        b.pad(r);
        break;
    }
    case PrimType::EllipseTube: {
        const double r = std::max({pr.ax0.x, pr.ax0.y, pr.ax1.x, pr.ax1.y});
        const glm::dvec3 dir = glm::normalize(pr.p1 - pr.p0);
        b.add(pr.p0 - dir * pr.extMm);
        b.add(pr.p1 + dir * pr.extMm);
        b.pad(r);
        break;
    }
    case PrimType::HalfSpace:
        b.lo = glm::dvec3(-1e30);
        b.hi = glm::dvec3(1e30);
        break;
    }
    return b;
}

} // namespace detail

namespace {

constexpr double kDeg = std::numbers::pi / 180.0;
constexpr double kInf = std::numeric_limits<double>::infinity();

// Per-level dimensions (CLINICAL.md sections 1-3). Index 0..4 = L2..S1.
struct LevelParams {
    const char* name;
    double widthMm, depthMm, heightMm;
    double pedicleWidthMm, pedicleHeightMm, pedicleLengthMm, pedicleMedialDeg;
    double tpLengthMm, tpHeightMm, tpDepthMm;
    double spLengthMm, spHeightMm;
    double canalHalfWidthMm, canalHalfDepthMm;
    double rootRadiusMm, drgHalfWidthMm;
};
constexpr std::array<LevelParams, kLevelCount> kLevels{{
    {"L2", 43, 34, 27, 8, 15, 10, 12, 15, 8, 5, 30, 22, 13.0, 8.5, 2.0, 2.5},
    {"L3", 45, 35, 28, 10, 15, 10, 15, 19, 9, 5, 30, 24, 12.5, 8.0, 2.2, 2.7},
    {"L4", 47, 35, 28, 12, 14.5, 9.5, 17, 15, 9, 5.5, 29, 24, 13.0, 8.2, 2.4, 2.9},
    {"L5", 49, 35, 28, 14, 13, 8.6, 21, 15, 14, 8, 24, 20, 14.0, 7.8, 2.6, 3.25},
    {"S1", 50, 34, 26, 16, 14, 9, 25, 0, 0, 0, 14, 12, 14.0, 7.0, 2.7, 3.5},
}};
// Between level i and i+1: disc mid height, segmental lordosis (prone, ~0.75 of standing),
// facet angle to the sagittal plane (Jentzsch 2013).
constexpr std::array<double, 4> kDiscMidMm{11.0, 12.0, 13.0, 12.0};
constexpr std::array<double, 4> kLordosisDeg{4.4, 6.8, 9.5, 16.2};
constexpr std::array<double, 4> kFacetDeg{30.4, 38.7, 47.0, 47.3};
constexpr double kSacralSlopeDeg = 30.0; // prone, flattened
constexpr double kFacetGapMm = 1.6;
constexpr double kMedialBranchRadiusMm = 0.75;
constexpr double kMedialBranchClearMm = 1.5; // centreline to bone at the target
// The torso: a vertical rounded prism; y of its centre relative to the L3 body centre.
constexpr double kTorsoCentreY = -22.0;
constexpr double kTorsoHalfX = 140.0, kTorsoHalfY = 110.0;

const char* sideName(int side) { return side == 0 ? "left" : "right"; }
double sideSign(int side) { return side == 0 ? 1.0 : -1.0; } // left = +x

struct Part {
    std::vector<Primitive> prims; // intersection
    Aabb box;
};

struct StructDef {
    model::Structure info;
    std::vector<int> parts; // union (indices into Impl::parts)
    std::vector<int> cuts;  // subtracted
    double blendMm = 0.0;   // smooth-union width
    double hu = 0.0;
    bool bone = false;
    Aabb box;
};

double partSdf(const Part& part, const glm::dvec3& p) {
    double d = -kInf;
    for (const Primitive& pr : part.prims) d = std::max(d, detail::evalPrimitive(pr, p));
    return d;
}

Frame subFrame(const Frame& v, const glm::dvec3& originLocal, const glm::dvec3& xLocal,
               const glm::dvec3& zHintLocal) {
    const glm::dvec3 x = glm::normalize(xLocal);
    const glm::dvec3 z = glm::normalize(zHintLocal - x * glm::dot(zHintLocal, x));
    const glm::dvec3 y = glm::cross(z, x);
    Frame f;
    f.origin = v.toWorld(originLocal);
    f.axes = v.axes * glm::dmat3(x, y, z);
    return f;
}

Primitive ellipsoid(const Frame& f, const glm::dvec3& semi) {
    Primitive p;
    p.type = PrimType::Ellipsoid;
    p.frame = f;
    p.a = semi;
    return p;
}
Primitive roundBox(const Frame& f, const glm::dvec3& half, double radius) {
    Primitive p;
    p.type = PrimType::RoundBox;
    p.frame = f;
    p.a = half;
    p.r = std::min({radius, half.x, half.y, half.z});
    return p;
}
Primitive prism(const Frame& f, const glm::dvec3& half, double radius, double rim) {
    Primitive p;
    p.type = PrimType::RoundedPrism;
    p.frame = f;
    p.a = half;
    p.r = radius;
    p.round3 = rim;
    return p;
}
Primitive capsule(const glm::dvec3& a, const glm::dvec3& b, double ra, double rb) {
    Primitive p;
    p.type = PrimType::Capsule;
    p.p0 = a;
    p.p1 = b;
    p.r0 = ra;
    p.r1 = rb;
    return p;
}
Primitive halfSpace(const Frame& f) {
    Primitive p;
    p.type = PrimType::HalfSpace;
    p.frame = f;
    return p;
}

} // namespace

std::string_view levelName(int level) {
    PRECIS_ASSERT(level >= 0 && level < kLevelCount, "level index out of range");
    return kLevels[static_cast<std::size_t>(level)].name;
}

struct LumbarModel::Impl {
    std::vector<Part> parts;
    std::vector<StructDef> defs; // priority order
    std::array<int, 256> defOfLabel{};
    std::vector<model::Structure> structures;
    std::vector<VertebraFrame> vertebrae;
    std::array<Frame, kLevelCount> frames;
    std::vector<Landmark> landmarks;
    std::vector<Polyline> polylines;
    std::array<std::array<std::vector<glm::dvec3>, 2>, kLevelCount> roots;
    glm::dvec3 gridCentre{0.0};

    // ---- building ----
    int addStruct(const std::string& name, std::uint8_t labelValue, model::StructureKind kind,
                  double hu, double blendMm = 0.0) {
        StructDef d;
        d.info.name = name;
        d.info.label = labelValue;
        d.info.kind = kind;
        d.info.role = model::defaultRole(kind);
        d.info.defaultColor = model::defaultColor(kind);
        d.hu = hu;
        d.blendMm = blendMm;
        d.bone = kind == model::StructureKind::Bone;
        defs.push_back(std::move(d));
        defOfLabel[labelValue] = static_cast<int>(defs.size()) - 1;
        return static_cast<int>(defs.size()) - 1;
    }
    int makePart(std::vector<Primitive> prims) {
        Part part;
        part.box.lo = glm::dvec3(-1e30);
        part.box.hi = glm::dvec3(1e30);
        for (const Primitive& pr : prims) {
            const Aabb b = detail::primitiveBounds(pr);
            part.box.lo = glm::max(part.box.lo, b.lo);
            part.box.hi = glm::min(part.box.hi, b.hi);
        }
        part.prims = std::move(prims);
        parts.push_back(std::move(part));
        return static_cast<int>(parts.size()) - 1;
    }
    void add(int def, Primitive pr) { defs[def].parts.push_back(makePart({std::move(pr)})); }
    void addIntersection(int def, std::vector<Primitive> prims) {
        defs[def].parts.push_back(makePart(std::move(prims)));
    }
    void cut(int def, Primitive pr) { defs[def].cuts.push_back(makePart({std::move(pr)})); }
    /// Swept ellipse through points (one part per segment, overlapping at the joints).
    void addTube(int def, const std::vector<glm::dvec3>& pts, const std::vector<glm::dvec2>& axes,
                 bool asCut = false) {
        for (std::size_t i = 0; i + 1 < pts.size(); ++i) {
            Primitive p;
            p.type = PrimType::EllipseTube;
            p.p0 = pts[i];
            p.p1 = pts[i + 1];
            p.ax0 = axes[i];
            p.ax1 = axes[i + 1];
            p.extMm = 0.5 * std::max({axes[i].x, axes[i].y, axes[i + 1].x, axes[i + 1].y});
            const int id = makePart({p});
            (asCut ? defs[def].cuts : defs[def].parts).push_back(id);
        }
    }
    void addCapsuleChain(int def, const std::vector<glm::dvec3>& pts, double r0, double r1,
                         bool asCut = false) {
        const double n = static_cast<double>(pts.size() - 1);
        for (std::size_t i = 0; i + 1 < pts.size(); ++i) {
            const double ra = r0 + (r1 - r0) * static_cast<double>(i) / n;
            const double rb = r0 + (r1 - r0) * static_cast<double>(i + 1) / n;
            const int id = makePart({capsule(pts[i], pts[i + 1], ra, rb)});
            (asCut ? defs[def].cuts : defs[def].parts).push_back(id);
        }
    }

    // ---- evaluation ----
    double structSdf(int def, const glm::dvec3& p) const {
        const StructDef& s = defs[static_cast<std::size_t>(def)];
        double u = kInf;
        for (int id : s.parts) {
            const double d = partSdf(parts[static_cast<std::size_t>(id)], p);
            u = s.blendMm > 0.0 ? detail::smin(u, d, s.blendMm) : std::min(u, d);
        }
        if (!s.cuts.empty()) {
            double c = kInf;
            for (int id : s.cuts) c = std::min(c, partSdf(parts[static_cast<std::size_t>(id)], p));
            u = std::max(u, -c);
        }
        return u;
    }
    int defOf(std::uint8_t labelValue) const { return defOfLabel[labelValue]; }
    double sdfLabel(std::uint8_t labelValue, const glm::dvec3& p) const {
        const int d = defOf(labelValue);
        return d < 0 ? kInf : structSdf(d, p);
    }
    double boneSdf(const glm::dvec3& p) const {
        double d = kInf;
        for (int lv = 0; lv < kLevelCount; ++lv) d = std::min(d, sdfLabel(label::vertebra(lv), p));
        return d;
    }
    int winnerAt(const glm::dvec3& p, double* dOut = nullptr) const {
        for (std::size_t i = 0; i < defs.size(); ++i) {
            Aabb b = defs[i].box;
            if (!b.contains(p)) continue;
            const double d = structSdf(static_cast<int>(i), p);
            if (d < 0.0) {
                if (dOut) *dOut = d;
                return static_cast<int>(i);
            }
        }
        return -1;
    }
    double huOf(int def, double d, double voxelMm) const {
        if (def < 0) return -1000.0;
        const StructDef& s = defs[static_cast<std::size_t>(def)];
        if (!s.bone) return s.hu;
        const double f = std::clamp((d + LumbarModel::kCorticalMm) / voxelMm + 0.5, 0.0, 1.0);
        return LumbarModel::kCancellousHu +
               (LumbarModel::kCorticalHu - LumbarModel::kCancellousHu) * f;
    }

    void build();
    void buildVertebrae(std::array<int, kLevelCount>& vert);
    void buildNeural(const std::array<int, kLevelCount>& vert);
    void buildSoftTissue();
    void buildTruth();
    void finish();
};

// ------------------------------------------------------------------------------------------------

namespace {

glm::dvec3 superiorDir(double tiltDeg) {
    return {0.0, -std::sin(tiltDeg * kDeg), std::cos(tiltDeg * kDeg)};
}
glm::dvec3 posteriorDir(double tiltDeg) {
    return {0.0, std::cos(tiltDeg * kDeg), std::sin(tiltDeg * kDeg)};
}
double canalCentreV(const LevelParams& p) {
    return p.depthMm / 2.0 + p.canalHalfDepthMm - 1.5; // bites 1.5 mm into the posterior wall
}
double pedicleCentreW(const LevelParams& p) {
    return p.heightMm / 2.0 - p.pedicleHeightMm / 2.0 - 1.0;
}
double pedicleBottomW(const LevelParams& p) { return pedicleCentreW(p) - p.pedicleHeightMm / 2.0; }
double tpCentreW(const LevelParams& p) { return pedicleCentreW(p) - 1.0; }
double tpCentreV(const LevelParams& p) { return p.depthMm / 2.0 + p.pedicleLengthMm * 0.7; }
/// Facet joint centre between level i-1 (inferior process) and i (superior process), in i's frame.
glm::dvec3 facetJoint(const LevelParams& p, double s) {
    return {s * (p.canalHalfWidthMm + p.pedicleWidthMm * 0.55),
            canalCentreV(p) + p.canalHalfDepthMm * 0.5 + 2.0, p.heightMm / 2.0 + 5.0};
}

} // namespace

void LumbarModel::Impl::build() {
    defOfLabel.fill(-1);
    // Frames, stacked caudal -> cranial from S1 (CLINICAL.md "Stacking").
    std::array<double, kLevelCount> tilt{};
    std::array<glm::dvec3, kLevelCount> origin{};
    tilt[4] = kSacralSlopeDeg;
    origin[4] = glm::dvec3(0.0);
    for (int i = 3; i >= 0; --i) {
        const auto ui = static_cast<std::size_t>(i);
        tilt[ui] = tilt[ui + 1] - kLordosisDeg[ui];
        origin[ui] = origin[ui + 1] + superiorDir(tilt[ui + 1]) * (kLevels[ui + 1].heightMm / 2.0) +
                     superiorDir((tilt[ui] + tilt[ui + 1]) / 2.0) * kDiscMidMm[ui] +
                     superiorDir(tilt[ui]) * (kLevels[ui].heightMm / 2.0);
    }
    // Centre: L3 body at y = 0, x = 0; z midway between L2's top and S1's bottom.
    const double zTop = origin[0].z + kLevels[0].heightMm / 2.0;
    const double zBottom = origin[4].z - kLevels[4].heightMm / 2.0;
    const glm::dvec3 shift(0.0, -origin[1].y, -(zTop + zBottom) / 2.0);
    for (int i = 0; i < kLevelCount; ++i) {
        const auto ui = static_cast<std::size_t>(i);
        Frame f;
        f.origin = origin[ui] + shift;
        f.axes = glm::dmat3(glm::dvec3(1, 0, 0), posteriorDir(tilt[ui]), superiorDir(tilt[ui]));
        frames[ui] = f;
        VertebraFrame vf;
        vf.name = kLevels[ui].name;
        vf.originLps = f.origin;
        vf.lateral = f.axes[0];
        vf.posterior = f.axes[1];
        vf.superior = f.axes[2];
        vf.bodyWidthMm = kLevels[ui].widthMm;
        vf.bodyDepthMm = kLevels[ui].depthMm;
        vf.bodyHeightMm = kLevels[ui].heightMm;
        vertebrae.push_back(vf);
    }
    gridCentre = glm::dvec3(0.0, kTorsoCentreY, 0.0);

    std::array<int, kLevelCount> vert{};
    buildVertebrae(vert);
    buildNeural(vert);
    buildSoftTissue();
    finish();
    buildTruth();
}

void LumbarModel::Impl::buildVertebrae(std::array<int, kLevelCount>& vert) {
    using model::StructureKind;
    for (int i = 0; i < kLevelCount; ++i) {
        vert[static_cast<std::size_t>(i)] =
            addStruct(kLevels[static_cast<std::size_t>(i)].name, label::vertebra(i),
                      StructureKind::Bone, kCancellousHu, 2.0);
    }
    for (int i = 0; i < kLevelCount; ++i) {
        const auto ui = static_cast<std::size_t>(i);
        const LevelParams& p = kLevels[ui];
        const Frame& v = frames[ui];
        const int def = vert[ui];
        const bool sacrum = i == 4;
        const double w2 = p.widthMm / 2.0, d2 = p.depthMm / 2.0, h2 = p.heightMm / 2.0;
        const double cw = p.canalHalfWidthMm, cd = p.canalHalfDepthMm, vc = canalCentreV(p);
        const glm::dvec3 ex(1, 0, 0), ey(0, 1, 0), ez(0, 0, 1);

        // Body: reniform rounded prism with rounded rims and concave endplates.
        add(def, prism(v, {w2, d2, h2}, std::min(w2, d2) * 0.7, 1.2));
        cut(def, ellipsoid(subFrame(v, {0, 2, h2 + 0.3}, ex, ez), {w2 * 0.62, d2 * 0.6, 1.8}));
        if (!sacrum) {
            cut(def, ellipsoid(subFrame(v, {0, 2, -h2 - 0.3}, ex, ez), {w2 * 0.62, d2 * 0.6, 1.2}));
        } else {
            // S2 segment of the sacrum below S1, narrowing and curving back.
            add(def, prism(subFrame(v, {0, 4, -h2 - 13}, ex, {0, -0.25, 1}), {w2 - 7, d2 - 5, 14},
                           9.0, 1.0));
        }

        for (int side = 0; side < 2; ++side) {
            const double s = sideSign(side);
            // Pedicle: rounded box along its axis (posterior and lateral by the medial angle).
            const double ma = p.pedicleMedialDeg * kDeg;
            const glm::dvec3 pedAxis(s * std::sin(ma), std::cos(ma), 0.0);
            const glm::dvec3 pedC(s * (cw + p.pedicleWidthMm / 2.0 - 0.5),
                                  d2 + p.pedicleLengthMm / 2.0 - 1.0, pedicleCentreW(p));
            add(def, roundBox(subFrame(v, pedC, pedAxis, ez),
                              {p.pedicleLengthMm / 2.0 + 4.0, p.pedicleWidthMm / 2.0,
                               p.pedicleHeightMm / 2.0},
                              std::min(p.pedicleWidthMm, p.pedicleHeightMm) * 0.42));

            // Lamina: a plate from the pedicle's back to the midline, its top leaning forward.
            const glm::dvec3 l0(s * (cw + p.pedicleWidthMm * 0.35), d2 + p.pedicleLengthMm + 0.5,
                                0);
            const glm::dvec3 l1(0, vc + cd + 3.0, 0);
            const double lamTop = sacrum ? h2 - 9.0 : h2 - 7.0;
            const double lamBottom = sacrum ? -h2 - 22.0 : -h2 - 3.0;
            const glm::dvec3 lamC = (l0 + l1) * 0.5 + glm::dvec3(0, 0, (lamTop + lamBottom) / 2.0);
            const double lamLen = glm::length(l1 - l0);
            const double lean = sacrum ? 0.0 : 18.0 * kDeg; // laminae shingle; the sacral roof not
            add(def, roundBox(subFrame(v, lamC + glm::dvec3(0, sacrum ? 1.5 : 0.0, 0), l1 - l0,
                                       {0, -std::sin(lean), std::cos(lean)}),
                              {lamLen / 2.0 + 3.0, sacrum ? 5.0 : 3.5, (lamTop - lamBottom) / 2.0},
                              2.5));

            if (!sacrum) {
                // Transverse process from the pedicle-lamina junction, slightly back and up.
                const glm::dvec3 root(s * (cw + p.pedicleWidthMm * 0.7), tpCentreV(p),
                                      tpCentreW(p));
                const glm::dvec3 tip =
                    root + glm::dvec3(s * (p.pedicleWidthMm * 0.3 + p.tpLengthMm + 3.0), 3.0, 1.0);
                add(def,
                    roundBox(subFrame(v, (root + tip) * 0.5, tip - root, ez),
                             {glm::length(tip - root) / 2.0, p.tpDepthMm / 2.0, p.tpHeightMm / 2.0},
                             std::min(p.tpDepthMm, p.tpHeightMm) * 0.45));
            } else {
                // Sacral ala and the lateral mass behind it (contains the S1 foramen).
                // Wing: thick medially, sloping down and thinning laterally.
                add(def,
                    roundBox(subFrame(v, {s * (w2 + 8.0), 3.0, -7.0}, {s, 0, -0.25}, {0, 0.15, 1}),
                             {20.0, 15.0, 12.0}, 9.0));
                add(def,
                    ellipsoid(subFrame(v, {s * (w2 + 26.0), 5.0, -16.0}, {s, 0, -0.6}, {0, 0.2, 1}),
                              {12.0, 14.0, 10.0}));
                add(def, roundBox(subFrame(v, {s * (cw + 11.0), vc + 2.0, -8.0}, ex, ez),
                                  {11.0, 9.5, 16.0}, 4.0));
            }

            if (i >= 1) {
                // Facet joint (i-1 / i): superior process of i, inferior process of i-1, both
                // slabs parallel to the joint plane with a thin gap between them.
                const double th = kFacetDeg[ui - 1] * kDeg;
                const glm::dvec3 J = facetJoint(p, s);
                const glm::dvec3 n(-s * std::cos(th), std::sin(th), 0.0); // posteromedial
                const glm::dvec3 dd(s * std::sin(th), std::cos(th), 0.0);
                const double sapBottom = pedicleCentreW(p), sapTop = h2 + 13.0;
                const glm::dvec3 sapC = J - n * (kFacetGapMm / 2.0 + 3.5) +
                                        glm::dvec3(0, 0, (sapTop + sapBottom) / 2.0 - J.z);
                add(def, roundBox(subFrame(v, sapC, dd, ez), {8.0, 3.5, (sapTop - sapBottom) / 2.0},
                                  2.5));
                // Mammillary process: a bump on the SAP's posterior edge.
                add(def, ellipsoid(subFrame(v, sapC + dd * 6.0 + glm::dvec3(0, 0, -3.0), ex, ez),
                                   {3.0, 3.5, 4.0}));

                const int upper = vert[ui - 1];
                const LevelParams& pu = kLevels[ui - 1];
                const Frame& vu = frames[ui - 1];
                const glm::dvec3 iapC = J + n * (kFacetGapMm / 2.0 + 3.0) + glm::dvec3(0, 0, -2.0);
                add(upper, roundBox(subFrame(v, iapC, dd, ez), {7.0, 3.0, 8.0}, 2.5));
                const glm::dvec3 lamLow = vu.toWorld(
                    {s * (pu.canalHalfWidthMm + pu.pedicleWidthMm * 0.35) * 0.8,
                     pu.depthMm / 2.0 + pu.pedicleLengthMm + 3.0, -pu.heightMm / 2.0 - 2.0});
                add(upper, capsule(lamLow, v.toWorld(iapC + glm::dvec3(0, 0, 4.0)), 3.8, 3.0));
            }
        }

        // Spinous process: plate running back and a little down, ending in a tubercle.
        const glm::dvec3 spAxis(0, std::cos(15 * kDeg), -std::sin(15 * kDeg));
        const glm::dvec3 spBase(0, vc + cd + 2.0, sacrum ? -10.0 : -4.0);
        add(def, roundBox(subFrame(v, spBase + spAxis * (p.spLengthMm / 2.0), spAxis, ez),
                          {p.spLengthMm / 2.0 + 2.0, 3.0, p.spHeightMm / 2.0}, 2.5));
        add(def, ellipsoid(subFrame(v, spBase + spAxis * (p.spLengthMm - 1.0), ex, ez),
                           {4.5, 4.0, p.spHeightMm * 0.42}));
    }

    // Discs: between the endplates (2 mm into each body, bone wins there) and inside a footprint
    // prism half-way between the two bodies.
    for (int j = 0; j < 4; ++j) {
        const auto uj = static_cast<std::size_t>(j);
        const LevelParams& pu = kLevels[uj];
        const LevelParams& pl = kLevels[uj + 1];
        const Frame& fu = frames[uj];
        const Frame& fl = frames[uj + 1];
        const std::string name = std::string("disc_") + pu.name + "_" + pl.name;
        const int def = addStruct(name, static_cast<std::uint8_t>(label::kDiscL2L3 + j),
                                  model::StructureKind::Disc, 80.0);
        Frame below; // local z <= 0  <=>  below the upper body's inferior plane (+2 mm)
        below.origin = fu.toWorld({0, 0, -pu.heightMm / 2.0 + 2.0});
        below.axes = fu.axes;
        Frame above; // flipped: local z <= 0  <=>  above the lower body's superior plane (-2 mm)
        above.origin = fl.toWorld({0, 0, pl.heightMm / 2.0 - 2.0});
        above.axes = glm::dmat3(fl.axes[0], -fl.axes[1], -fl.axes[2]);
        Frame mid;
        mid.origin = (below.origin + above.origin) * 0.5;
        const glm::dvec3 sup = glm::normalize(fu.axes[2] + fl.axes[2]);
        mid.axes = glm::dmat3(glm::dvec3(1, 0, 0), glm::cross(sup, glm::dvec3(1, 0, 0)), sup);
        const double hw = (pu.widthMm + pl.widthMm) / 4.0 + 0.8;
        const double hd = (pu.depthMm + pl.depthMm) / 4.0 + 0.8;
        addIntersection(def, {halfSpace(below), halfSpace(above),
                              prism(mid, {hw, hd, 25.0}, std::min(hw, hd) * 0.7, 0.0)});
    }
}

void LumbarModel::Impl::buildNeural(const std::array<int, kLevelCount>& vert) {
    using model::StructureKind;
    // Canal centreline and the dural sac inside it (sac shifted 2 mm anterior: the epidural fat
    // is mostly posterior).
    std::vector<glm::dvec3> canalPts, duraPts;
    std::vector<glm::dvec2> canalAx, duraAx;
    auto pushCanal = [&](int i, double w, double extraV, glm::dvec2 dura) {
        const auto ui = static_cast<std::size_t>(i);
        const LevelParams& p = kLevels[ui];
        const double vc = canalCentreV(p) + extraV;
        canalPts.push_back(frames[ui].toWorld({0, vc, w}));
        canalAx.emplace_back(p.canalHalfWidthMm, p.canalHalfDepthMm);
        duraPts.push_back(frames[ui].toWorld({0, vc - 2.0, w}));
        duraAx.push_back(dura);
    };
    const glm::dvec2 sac(9.0, 5.5);
    pushCanal(0, kLevels[0].heightMm / 2.0 + 40.0, 0.0, sac);
    for (int i = 0; i < kLevelCount; ++i) {
        const double h2 = kLevels[static_cast<std::size_t>(i)].heightMm / 2.0;
        pushCanal(i, h2, 0.0, sac);
        pushCanal(i, 0.0, 0.0, i == 4 ? glm::dvec2(7.5, 4.5) : sac);
        if (i < 4) pushCanal(i, -h2, 0.0, sac);
    }
    pushCanal(4, -kLevels[4].heightMm / 2.0 - 14.0, 2.0, {4.0, 2.5});
    pushCanal(4, -kLevels[4].heightMm / 2.0 - 45.0, 6.0, {1.0, 1.0});
    {
        Polyline pl;
        pl.name = "canal_centerline";
        pl.kind = "canal_centerline";
        pl.lps = canalPts;
        polylines.push_back(pl);
    }

    // Nerve roots (exit under the pedicle of their own level) and their DRGs.
    std::array<std::array<int, 2>, kLevelCount> rootDef{}, drgDef{};
    for (int i = 0; i < kLevelCount; ++i) {
        for (int side = 0; side < 2; ++side) {
            const std::string base =
                std::string(kLevels[static_cast<std::size_t>(i)].name) + "_" + sideName(side);
            drgDef[static_cast<std::size_t>(i)][static_cast<std::size_t>(side)] =
                addStruct(base + "_drg", label::drg(i, side), StructureKind::Nerve, 35.0);
        }
    }
    for (int i = 0; i < kLevelCount; ++i) {
        for (int side = 0; side < 2; ++side) {
            const std::string base =
                std::string(kLevels[static_cast<std::size_t>(i)].name) + "_" + sideName(side);
            rootDef[static_cast<std::size_t>(i)][static_cast<std::size_t>(side)] = addStruct(
                base + "_nerve_root", label::nerveRoot(i, side), StructureKind::Nerve, 35.0);
        }
    }
    // Medial branches are added after the bone exists (they hug it); reserve their priority now.
    std::array<std::array<int, 2>, 4> mbDef{};
    for (int j = 0; j < 4; ++j) {
        for (int side = 0; side < 2; ++side) {
            const std::string base =
                std::string(kLevels[static_cast<std::size_t>(j)].name) + "_" + sideName(side);
            mbDef[static_cast<std::size_t>(j)][static_cast<std::size_t>(side)] = addStruct(
                base + "_medial_branch", label::medialBranch(j, side), StructureKind::Nerve, 35.0);
        }
    }
    const int dura = addStruct("dural_sac", label::kDuralSac, StructureKind::Canal, 15.0);
    addTube(dura, duraPts, duraAx);
    const int epi = addStruct("epidural_fat", label::kEpiduralFat, StructureKind::Fat, -100.0);
    addTube(epi, canalPts, canalAx);
    addTube(epi, duraPts, duraAx, true);
    for (int lv = 0; lv < kLevelCount; ++lv)
        addTube(vert[static_cast<std::size_t>(lv)], canalPts, canalAx, true);

    for (int i = 0; i < kLevelCount; ++i) {
        const auto ui = static_cast<std::size_t>(i);
        const LevelParams& p = kLevels[ui];
        const Frame& v = frames[ui];
        const double cw = p.canalHalfWidthMm, vc = canalCentreV(p), h2 = p.heightMm / 2.0;
        const double r = p.rootRadiusMm;
        for (int side = 0; side < 2; ++side) {
            const auto us = static_cast<std::size_t>(side);
            const double s = sideSign(side);
            std::vector<glm::dvec3> local;
            glm::dvec3 drgC, drgAxis;
            if (i < 4) {
                const double pb = pedicleBottomW(p);
                local = {{s * 5.5, vc - 1.5, h2 - 2.0},
                         {s * (cw - 4.5), vc - 3.5, pb + 1.0},
                         {s * (cw - 0.5), vc - 4.5, pb - r - 2.0},
                         {s * (cw + p.pedicleWidthMm * 0.5), vc - 5.0, pb - r - 2.5},
                         {s * (cw + p.pedicleWidthMm + 8.0), vc - 12.0, pb - r - 12.0},
                         {s * (p.widthMm / 2.0 + 18.0), -4.0, pb - 32.0}};
                if (i == 3)
                    local[5] = {s * (p.widthMm / 2.0 + 10.0), -p.depthMm / 2.0 + 1.0, pb - 30.0};
                drgC = local[3] + (local[4] - local[3]) * 0.15;
                drgAxis = local[4] - local[3];
                // Foraminal fat around root and DRG, under the pedicle.
                add(epi,
                    ellipsoid(
                        subFrame(v, {s * (cw + p.pedicleWidthMm * 0.5 + 1.0), vc - 5.0, pb - 8.0},
                                 {1, 0, 0}, {0, 0, 1}),
                        {p.pedicleWidthMm / 2.0 + 5.0, 6.5, 10.5}));
            } else {
                // S1: descends in the lateral recess, DRG at the canal/foramen border, then
                // through the lateral mass to the anterior sacral foramen.
                local = {{s * 5.0, vc - 1.0, h2 + 12.0},
                         {s * (cw - 4.0), vc - 3.0, h2 - 4.0},
                         {s * (cw + 1.0), vc - 4.0, -4.0},
                         {s * (cw + 6.0), vc - 14.0, -14.0},
                         {s * (cw + 9.0), -p.depthMm / 2.0 - 3.0, -24.0},
                         {s * (cw + 14.0), -p.depthMm / 2.0 - 10.0, -40.0}};
                drgC = local[2];
                drgAxis = local[3] - local[2];
                std::vector<glm::dvec3> tunnel;
                for (std::size_t k = 1; k < 5; ++k) tunnel.push_back(v.toWorld(local[k]));
                addCapsuleChain(epi, tunnel, r + 1.5, r + 1.5);
                addCapsuleChain(vert[ui], tunnel, r + 1.5, r + 1.5, true);
            }
            std::vector<glm::dvec3> world;
            for (const auto& q : local) world.push_back(v.toWorld(q));
            roots[ui][us] = world;
            addCapsuleChain(rootDef[ui][us], world, r * 0.85, r);
            const double dw = p.drgHalfWidthMm;
            add(drgDef[ui][us],
                ellipsoid(subFrame(v, drgC, drgAxis, {0, 0, 1}), {5.0, dw, dw + 0.4}));

            Landmark lm;
            lm.name = std::string(p.name) + "_" + sideName(side) + "_drg_center";
            lm.kind = "drg_center";
            lm.level = p.name;
            lm.side = sideName(side);
            lm.lps = v.toWorld(drgC);
            landmarks.push_back(lm);
            Polyline pl;
            pl.name = std::string(p.name) + "_" + sideName(side) + "_nerve_root";
            pl.kind = "nerve_root";
            pl.level = p.name;
            pl.side = sideName(side);
            pl.lps = world;
            polylines.push_back(pl);
        }
    }

    // Medial branches: level j's branch crosses the SAP-TP junction of vertebra j+1 (for L5 the
    // dorsal ramus in the groove between the S1 SAP and the ala). The target is found on the
    // analytic bone: the corner's bisector point kMedialBranchClearMm from bone.
    for (int j = 0; j < 4; ++j) {
        const auto uj = static_cast<std::size_t>(j);
        const int lower = vert[uj + 1];
        const LevelParams& p = kLevels[uj + 1];
        const Frame& v = frames[uj + 1];
        auto sdLocal = [&](const glm::dvec3& q) { return structSdf(lower, v.toWorld(q)); };
        for (int side = 0; side < 2; ++side) {
            const auto us = static_cast<std::size_t>(side);
            const double s = sideSign(side);
            const bool sacrum = j == 3;
            const double vT = sacrum ? canalCentreV(p) - 1.0 : tpCentreV(p) + 1.0;
            const double topGuess = sacrum ? 8.0 : tpCentreW(p) + p.tpHeightMm / 2.0;
            // SAP lateral surface at 2 mm above the transverse process (or ala).
            double sapLat = p.canalHalfWidthMm + p.pedicleWidthMm;
            bool wasInside = false;
            for (double u = p.canalHalfWidthMm * 0.5; u < 70.0; u += 0.1) {
                const bool inside = sdLocal({s * u, vT, topGuess + 2.5}) < 0.0;
                if (wasInside && !inside) {
                    sapLat = u;
                    break;
                }
                wasInside = wasInside || inside;
            }
            // Top of the transverse process / ala, 3 mm lateral to the SAP.
            double top = topGuess;
            for (double w = topGuess + 8.0; w > topGuess - 10.0; w -= 0.1) {
                if (sdLocal({s * (sapLat + 3.0), vT, w}) < 0.0) {
                    top = w;
                    break;
                }
            }
            const glm::dvec3 corner(s * sapLat, vT, top);
            const glm::dvec3 bis = glm::normalize(glm::dvec3(s, 0.0, 1.0));
            double lo = 0.0, hi = 10.0;
            for (int it = 0; it < 50; ++it) {
                const double mid = (lo + hi) / 2.0;
                (sdLocal(corner + bis * mid) < kMedialBranchClearMm ? lo : hi) = mid;
            }
            const glm::dvec3 target = corner + bis * hi;
            auto pushOut = [&](glm::dvec3 q) {
                for (int it = 0; it < 60; ++it) {
                    const double d = boneSdf(v.toWorld(q));
                    if (d >= kMedialBranchClearMm + 0.3) break;
                    const double e = 0.05;
                    glm::dvec3 g(boneSdf(v.toWorld(q + glm::dvec3(e, 0, 0))) -
                                     boneSdf(v.toWorld(q - glm::dvec3(e, 0, 0))),
                                 boneSdf(v.toWorld(q + glm::dvec3(0, e, 0))) -
                                     boneSdf(v.toWorld(q - glm::dvec3(0, e, 0))),
                                 boneSdf(v.toWorld(q + glm::dvec3(0, 0, e))) -
                                     boneSdf(v.toWorld(q - glm::dvec3(0, 0, e))));
                    const double gl = glm::length(g);
                    if (gl < 1e-9) break;
                    q += g / gl * (kMedialBranchClearMm + 0.3 - d + 0.05);
                }
                return v.toWorld(q);
            };
            const auto& root = roots[uj][us];
            std::vector<glm::dvec3> path{
                root[3] + (root[4] - root[3]) * 0.45,
                pushOut(target + glm::dvec3(s * 3.0, -3.0, 6.0)),
                v.toWorld(target),
                pushOut(target + glm::dvec3(-s * 1.0, 6.0, -4.0)),
                pushOut(target + glm::dvec3(-s * 4.0, 13.0, -9.0)),
            };
            // Densify after the target and keep every sample clear of bone, so the nerve bends
            // around bony corners instead of cutting through them.
            std::vector<glm::dvec3> dense{path[0], path[1], path[2]};
            for (std::size_t k = 2; k + 1 < path.size(); ++k) {
                for (int t = 1; t <= 8; ++t) {
                    const glm::dvec3 q = path[k] + (path[k + 1] - path[k]) * (t / 8.0);
                    dense.push_back(pushOut(v.toLocal(q)));
                }
            }
            path = dense;
            addCapsuleChain(mbDef[uj][us], path, kMedialBranchRadiusMm, kMedialBranchRadiusMm);

            const std::string lvl = kLevels[uj].name;
            Landmark lm;
            lm.name = lvl + "_" + sideName(side) + "_medial_branch_target";
            lm.kind = "medial_branch_target";
            lm.level = lvl;
            lm.side = sideName(side);
            lm.lps = path[2];
            landmarks.push_back(lm);
            Polyline pl;
            pl.name = lvl + "_" + sideName(side) + "_medial_branch";
            pl.kind = "medial_branch";
            pl.level = lvl;
            pl.side = sideName(side);
            pl.lps = path;
            polylines.push_back(pl);
        }
    }
}

void LumbarModel::Impl::buildSoftTissue() {
    using model::StructureKind;
    auto at = [&](int i, double u, double v, double w) {
        return frames[static_cast<std::size_t>(i)].toWorld({u, v, w});
    };
    auto lp = [](int i) -> const LevelParams& { return kLevels[static_cast<std::size_t>(i)]; };

    // Great vessels.
    std::vector<glm::dvec3> aorta;
    aorta.push_back(at(0, 14, -lp(0).depthMm / 2 - 11, lp(0).heightMm / 2 + 40));
    for (int i = 0; i < 3; ++i) {
        const double d2 = lp(i).depthMm / 2, h2 = lp(i).heightMm / 2;
        aorta.push_back(at(i, 14, -d2 - 11, h2));
        aorta.push_back(at(i, 14 - i * 1.5, -d2 - 11, i == 2 ? -h2 + 4 : -h2));
    }
    const glm::dvec3 bif = aorta.back();
    const int ao = addStruct("aorta", label::kAorta, StructureKind::Vessel, 40.0);
    addTube(ao, aorta, std::vector<glm::dvec2>(aorta.size(), glm::dvec2(9.0)));
    {
        Polyline pl;
        pl.name = "aorta_centerline";
        pl.kind = "aorta_centerline";
        pl.lps = aorta;
        polylines.push_back(pl);
    }
    const double d3 = lp(3).depthMm / 2, d4 = lp(4).depthMm / 2;
    const std::vector<glm::dvec3> ciaL{bif, at(3, 22, -d3 - 10, 0), at(4, 40, -d4 - 7, 0),
                                       at(4, 52, -d4 + 1, -35)};
    const std::vector<glm::dvec3> ciaR{bif, at(3, -14, -d3 - 13, 0), at(4, -36, -d4 - 9, 0),
                                       at(4, -50, -d4 - 1, -35)};
    const int cial = addStruct("common_iliac_artery_left", label::kCommonIliacArteryLeft,
                               StructureKind::Vessel, 40.0);
    addTube(cial, ciaL, std::vector<glm::dvec2>(ciaL.size(), glm::dvec2(6.5)));
    const int ciar = addStruct("common_iliac_artery_right", label::kCommonIliacArteryRight,
                               StructureKind::Vessel, 40.0);
    addTube(ciar, ciaR, std::vector<glm::dvec2>(ciaR.size(), glm::dvec2(6.2)));

    std::vector<glm::dvec3> ivc;
    ivc.push_back(at(0, -20, -lp(0).depthMm / 2 - 9, lp(0).heightMm / 2 + 40));
    for (int i = 0; i < 3; ++i) {
        const double d2 = lp(i).depthMm / 2, h2 = lp(i).heightMm / 2;
        ivc.push_back(at(i, -20, -d2 - 9, h2));
        ivc.push_back(at(i, -19, -d2 - 9, -h2));
    }
    const glm::dvec3 conf = at(3, -14, -d3 - 7, lp(3).heightMm / 2 + 4);
    ivc.push_back(conf);
    const int iv = addStruct("ivc", label::kIvc, StructureKind::Vessel, 40.0);
    {
        std::vector<glm::dvec2> ax(ivc.size(), glm::dvec2(12.5, 8.0));
        ax.back() = glm::dvec2(10.0, 8.0);
        addTube(iv, ivc, ax);
        Polyline pl;
        pl.name = "ivc_centerline";
        pl.kind = "ivc_centerline";
        pl.lps = ivc;
        polylines.push_back(pl);
    }
    const std::vector<glm::dvec3> civL{conf, at(3, 8, -d3 - 3, -4), at(4, 30, -d4 - 1, 0),
                                       at(4, 44, -d4 + 6, -35)};
    const std::vector<glm::dvec3> civR{conf, at(3, -22, -d3 - 4, -4), at(4, -34, -d4 - 1, 0),
                                       at(4, -46, -d4 + 6, -35)};
    const int civl = addStruct("common_iliac_vein_left", label::kCommonIliacVeinLeft,
                               StructureKind::Vessel, 40.0);
    addTube(civl, civL, std::vector<glm::dvec2>(civL.size(), glm::dvec2(7.0)));
    const int civr = addStruct("common_iliac_vein_right", label::kCommonIliacVeinRight,
                               StructureKind::Vessel, 40.0);
    addTube(civr, civR, std::vector<glm::dvec2>(civR.size(), glm::dvec2(7.0)));

    // Kidneys (left higher, T11-L2; right T12-L3), upper pole medial and posterior.
    const int kl = addStruct("kidney_left", label::kKidneyLeft, StructureKind::Kidney, 30.0);
    add(kl, ellipsoid(subFrame(frames[0], {lp(0).widthMm / 2 + 44, 8, lp(0).heightMm / 2 + 30},
                               {1, 0, 0.25}, {-0.25, 0.15, 1}),
                      {24, 20, 55}));
    const int kr = addStruct("kidney_right", label::kKidneyRight, StructureKind::Kidney, 30.0);
    add(kr, ellipsoid(subFrame(frames[0], {-lp(0).widthMm / 2 - 42, 6, lp(0).heightMm / 2 + 5},
                               {1, 0, -0.25}, {0.25, 0.15, 1}),
                      {24, 20, 55}));

    // Muscles along the spine (swept ellipses through per-level centres).
    struct MusclePt {
        double u, v, semiU, semiV;
    };
    auto muscle = [&](const std::string& name, std::uint8_t lab, double s,
                      const std::array<MusclePt, kLevelCount>& m, double topExt, double botExt) {
        const int def = addStruct(name, lab, StructureKind::Muscle, 50.0);
        std::vector<glm::dvec3> pts;
        std::vector<glm::dvec2> ax;
        const MusclePt& f = m.front();
        pts.push_back(at(0, s * f.u, f.v, lp(0).heightMm / 2 + topExt));
        ax.emplace_back(f.semiU * 0.8, f.semiV * 0.8);
        for (int i = 0; i < kLevelCount; ++i) {
            const MusclePt& q = m[static_cast<std::size_t>(i)];
            if (q.semiU <= 0) break;
            pts.push_back(at(i, s * q.u, q.v, 0.0));
            ax.emplace_back(q.semiU, q.semiV);
        }
        const int last = static_cast<int>(pts.size()) - 2;
        const MusclePt& b = m[static_cast<std::size_t>(last)];
        pts.push_back(at(last, s * b.u, b.v, -lp(last).heightMm / 2 - botExt));
        ax.emplace_back(b.semiU * 0.9, b.semiV * 0.9);
        addTube(def, pts, ax);
    };
    for (int side = 0; side < 2; ++side) {
        const double s = sideSign(side);
        std::array<MusclePt, kLevelCount> psoas{}, ql{}, para{};
        for (int i = 0; i < kLevelCount; ++i) {
            const LevelParams& p = lp(i);
            const double w2 = p.widthMm / 2;
            const std::array<double, kLevelCount> psU{w2 + 6, w2 + 9, w2 + 13, w2 + 16, w2 + 18};
            const std::array<double, kLevelCount> psV{-1, -2, -4, -8, -24};
            const std::array<double, kLevelCount> psSu{8, 11, 15, 18, 19};
            const std::array<double, kLevelCount> psSv{7, 10, 13, 15, 13};
            const auto ui = static_cast<std::size_t>(i);
            psoas[ui] = {psU[ui], psV[ui], psSu[ui], psSv[ui]};
            if (i < 4) {
                const double tipU = p.canalHalfWidthMm + p.pedicleWidthMm + p.tpLengthMm;
                ql[ui] = {tipU + 8.0, tpCentreV(p) - 3.0, 12.0 - i * 1.5, 7.0};
            }
            const double vc = canalCentreV(p);
            para[ui] = i < 4 ? MusclePt{29.0, vc + p.canalHalfDepthMm + 17.0, 29.0, 19.5}
                             : MusclePt{24.0, vc + p.canalHalfDepthMm + 13.0, 24.0, 14.0};
        }
        muscle(side == 0 ? "psoas_left" : "psoas_right",
               side == 0 ? label::kPsoasLeft : label::kPsoasRight, s, psoas, 40.0, 40.0);
        muscle(side == 0 ? "quadratus_lumborum_left" : "quadratus_lumborum_right",
               side == 0 ? label::kQuadratusLeft : label::kQuadratusRight, s, ql, 40.0, 4.0);
        muscle(side == 0 ? "paraspinal_left" : "paraspinal_right",
               side == 0 ? label::kParaspinalLeft : label::kParaspinalRight, s, para, 40.0, 40.0);
    }

    // Body wall: skin, subcutaneous fat, a muscle layer, retroperitoneal fat, viscera.
    auto torso = [&](double inset, double yShift, double radius) {
        Frame f;
        f.origin = glm::dvec3(0.0, kTorsoCentreY + yShift, 0.0);
        return prism(f, {kTorsoHalfX - inset, kTorsoHalfY - inset, 2000.0}, radius, 0.0);
    };
    const Primitive outer = torso(0.0, 0.0, 70.0);
    const Primitive skinIn = torso(2.0, 0.0, 68.0);
    const Primitive inner = torso(20.0, 2.0, 52.0);
    const Primitive inner2 = torso(29.0, 2.0, 44.0);
    const int wall =
        addStruct("body_wall_muscle", label::kBodyWallMuscle, StructureKind::Muscle, 50.0);
    add(wall, inner);
    cut(wall, inner2);
    const int visc =
        addStruct("abdominal_viscera", label::kAbdominalViscera, StructureKind::Custom, 35.0);
    {
        // Bowel and solid organs as one soft-tissue mass in front of the great vessels.
        Frame f;
        f.origin = glm::dvec3(0.0, kTorsoCentreY - kTorsoHalfY + 29.0 + 42.0, 0.0);
        addIntersection(visc, {inner2, prism(f, {100.0, 44.0, 2000.0}, 40.0, 0.0)});
    }
    const int retro =
        addStruct("retroperitoneal_fat", label::kRetroperitonealFat, StructureKind::Fat, -100.0);
    add(retro, inner2);
    const int sub =
        addStruct("subcutaneous_fat", label::kSubcutaneousFat, StructureKind::Fat, -100.0);
    add(sub, skinIn);
    cut(sub, inner);
    const int skin = addStruct("skin", label::kSkin, StructureKind::Skin, 40.0);
    add(skin, outer);
    cut(skin, skinIn);
}

void LumbarModel::Impl::finish() {
    for (std::size_t i = 0; i < defs.size(); ++i) {
        StructDef& d = defs[i];
        d.box = Aabb{};
        for (int id : d.parts) {
            d.box.add(parts[static_cast<std::size_t>(id)].box.lo);
            d.box.add(parts[static_cast<std::size_t>(id)].box.hi);
        }
        d.box.pad(d.blendMm + 0.5);
        structures.push_back(d.info);
    }
}

void LumbarModel::Impl::buildTruth() {
    // Safe triangle (lumbar levels): under the pedicle, lateral pedicle tangent, above the root;
    // searched on the model for the foraminal-fat point best matching that description.
    for (int i = 0; i < 4; ++i) {
        const auto ui = static_cast<std::size_t>(i);
        const LevelParams& p = kLevels[ui];
        const Frame& v = frames[ui];
        for (int side = 0; side < 2; ++side) {
            const double s = sideSign(side);
            const glm::dvec3 nominal(s * (p.canalHalfWidthMm + p.pedicleWidthMm + 0.5),
                                     canalCentreV(p) - 6.0, pedicleBottomW(p) - 1.5);
            double bestScore = -kInf;
            glm::dvec3 best = v.toWorld(nominal);
            for (double a = -3.0; a <= 3.0; a += 0.5) {
                for (double b = -3.0; b <= 3.0; b += 0.5) {
                    for (double c = -3.0; c <= 3.0; c += 0.5) {
                        const glm::dvec3 q = v.toWorld(nominal + glm::dvec3(a, b, c));
                        if (winnerAt(q) != defOf(label::kEpiduralFat)) continue;
                        const double bone = boneSdf(q);
                        const double nerve = std::min(sdfLabel(label::nerveRoot(i, side), q),
                                                      sdfLabel(label::drg(i, side), q));
                        const double score = -std::abs(bone - 1.5) +
                                             3.0 * std::min(0.0, nerve - 2.5) -
                                             0.1 * std::sqrt(a * a + b * b + c * c);
                        if (score > bestScore) {
                            bestScore = score;
                            best = q;
                        }
                    }
                }
            }
            Landmark lm;
            lm.name = std::string(p.name) + "_" + sideName(side) + "_safe_triangle_target";
            lm.kind = "safe_triangle_target";
            lm.level = p.name;
            lm.side = sideName(side);
            lm.lps = best;
            landmarks.push_back(lm);
        }
    }
    // Interlaminar targets: posterior epidural space 3 mm off midline, at the height of the
    // interlaminar window (the point of the posterior epidural line farthest from bone).
    for (int j = 0; j < 4; ++j) {
        const auto uj = static_cast<std::size_t>(j);
        const LevelParams& pu = kLevels[uj];
        const LevelParams& pl = kLevels[uj + 1];
        for (int side = 0; side < 2; ++side) {
            const double s = sideSign(side);
            const glm::dvec3 a =
                frames[uj].toWorld({s * 3.0, canalCentreV(pu) + pu.canalHalfDepthMm - 2.5, 0.0});
            const glm::dvec3 b = frames[uj + 1].toWorld(
                {s * 3.0, canalCentreV(pl) + pl.canalHalfDepthMm - 2.5, 0.0});
            double bestD = -kInf;
            glm::dvec3 best = (a + b) * 0.5;
            for (int k = 0; k <= 200; ++k) {
                const glm::dvec3 q = a + (b - a) * (k / 200.0);
                if (winnerAt(q) != defOf(label::kEpiduralFat)) continue;
                const double d = boneSdf(q);
                if (d > bestD) {
                    bestD = d;
                    best = q;
                }
            }
            const std::string lvl = std::string(pu.name) + "-" + pl.name;
            Landmark lm;
            lm.name = lvl + "_" + sideName(side) + "_interlaminar_target";
            lm.kind = "interlaminar_target";
            lm.level = lvl;
            lm.side = sideName(side);
            lm.lps = best;
            landmarks.push_back(lm);
        }
    }
}

// ------------------------------------------------------------------------------------------------

LumbarModel::LumbarModel() : impl_(std::make_unique<Impl>()) { impl_->build(); }
LumbarModel::~LumbarModel() = default;
LumbarModel::LumbarModel(LumbarModel&&) noexcept = default;
LumbarModel& LumbarModel::operator=(LumbarModel&&) noexcept = default;

const std::vector<model::Structure>& LumbarModel::structures() const { return impl_->structures; }

const model::Structure* LumbarModel::structure(std::uint8_t labelValue) const {
    const int d = impl_->defOf(labelValue);
    return d < 0 ? nullptr : &impl_->structures[static_cast<std::size_t>(d)];
}

const model::Structure* LumbarModel::structure(std::string_view name) const {
    for (const auto& s : impl_->structures)
        if (s.name == name) return &s;
    return nullptr;
}

std::uint8_t LumbarModel::labelAt(const glm::dvec3& lps) const {
    const int w = impl_->winnerAt(lps);
    return w < 0 ? label::kAir : impl_->defs[static_cast<std::size_t>(w)].info.label;
}

double LumbarModel::signedDistanceMm(std::uint8_t labelValue, const glm::dvec3& lps) const {
    return impl_->sdfLabel(labelValue, lps);
}

double LumbarModel::boneDistanceMm(const glm::dvec3& lps) const { return impl_->boneSdf(lps); }

double LumbarModel::designHuAt(const glm::dvec3& lps) const {
    double d = 0.0;
    const int w = impl_->winnerAt(lps, &d);
    return impl_->huOf(w, d, 1e-6);
}

double LumbarModel::designHu(std::uint8_t labelValue) const {
    const int d = impl_->defOf(labelValue);
    return d < 0 ? -1000.0 : impl_->defs[static_cast<std::size_t>(d)].hu;
}

const std::vector<VertebraFrame>& LumbarModel::vertebrae() const { return impl_->vertebrae; }
const std::vector<Landmark>& LumbarModel::landmarks() const { return impl_->landmarks; }
const std::vector<Polyline>& LumbarModel::polylines() const { return impl_->polylines; }

Truth LumbarModel::truth() const {
    Truth t;
    t.structures = impl_->structures;
    t.landmarks = impl_->landmarks;
    t.polylines = impl_->polylines;
    return t;
}

model::ImageGeometry LumbarModel::gridFor(const PhantomOptions& o) const {
    model::ImageGeometry g;
    g.dims = {o.columns, o.rows, o.slices};
    g.spacingMm = glm::dvec3(o.pixelMm, o.pixelMm, o.sliceMm);
    g.direction = glm::dmat3(glm::dvec3(-1, 0, 0), glm::dvec3(0, -1, 0), glm::dvec3(0, 0, 1));
    const glm::dvec3 centreIndex((o.columns - 1) / 2.0, (o.rows - 1) / 2.0, (o.slices - 1) / 2.0);
    g.originMm = impl_->gridCentre - g.direction * (centreIndex * g.spacingMm);
    return g;
}

void LumbarModel::sampleSlice(const model::ImageGeometry& grid, int k,
                              std::span<std::uint8_t> labels, std::span<float> hu) const {
    const Impl& m = *impl_;
    const int nx = grid.dims[0], ny = grid.dims[1];
    PRECIS_ASSERT(k >= 0 && k < grid.dims[2], "slice index out of range");
    PRECIS_ASSERT(labels.size() >= static_cast<std::size_t>(nx) * static_cast<std::size_t>(ny) &&
                      hu.size() >= labels.size(),
                  "slice buffers too small");
    const double h = (grid.spacingMm.x + grid.spacingMm.y + grid.spacingMm.z) / 3.0;
    const double margin = h; // partial-volume reach plus slack
    constexpr int kTile = 8;

    // Parts whose box meets this slice.
    Aabb sliceBox;
    sliceBox.add(grid.worldFromIndex({0, 0, k}));
    sliceBox.add(grid.worldFromIndex({nx - 1, ny - 1, k}));
    sliceBox.add(grid.worldFromIndex({0, ny - 1, k}));
    sliceBox.add(grid.worldFromIndex({nx - 1, 0, k}));
    sliceBox.pad(h);

    struct Group {
        int def;
        int partBegin, partEnd, cutBegin, cutEnd;
    };
    std::vector<int> candParts;
    std::vector<Group> groups;
    candParts.reserve(512);
    groups.reserve(m.defs.size());

    for (int ty = 0; ty < ny; ty += kTile) {
        for (int tx = 0; tx < nx; tx += kTile) {
            const int ex = std::min(tx + kTile, nx), ey = std::min(ty + kTile, ny);
            Aabb tile;
            tile.add(grid.worldFromIndex({tx, ty, k}));
            tile.add(grid.worldFromIndex({ex - 1, ey - 1, k}));
            const glm::dvec3 centre = (tile.lo + tile.hi) * 0.5;
            const double radius = glm::length(tile.hi - tile.lo) / 2.0 + 0.5 * grid.spacingMm.z;
            // Candidate parts per structure (a part farther than radius + blend + margin from the
            // tile centre cannot affect any voxel's label or HU; distances are bounds).
            candParts.clear();
            groups.clear();
            for (std::size_t di = 0; di < m.defs.size(); ++di) {
                const StructDef& s = m.defs[di];
                Aabb reach = tile;
                reach.pad(s.blendMm + margin + 0.5);
                if (!s.box.overlaps(reach)) continue;
                Group g{static_cast<int>(di), static_cast<int>(candParts.size()), 0, 0, 0};
                bool excluded = false;
                for (int id : s.cuts) {
                    const Part& part = m.parts[static_cast<std::size_t>(id)];
                    if (!part.box.overlaps(reach)) continue;
                    const double c = partSdf(part, centre);
                    if (c < -radius - margin) {
                        excluded = true; // the whole tile lies deep inside a hole
                        break;
                    }
                    if (c - radius > 2.0 * margin + 1.5) continue;
                    candParts.push_back(id);
                }
                if (excluded) {
                    candParts.resize(static_cast<std::size_t>(g.partBegin));
                    continue;
                }
                g.cutBegin = g.partBegin;
                g.cutEnd = static_cast<int>(candParts.size());
                g.partBegin = g.cutEnd;
                for (int id : s.parts) {
                    const Part& part = m.parts[static_cast<std::size_t>(id)];
                    if (!part.box.overlaps(reach)) continue;
                    if (partSdf(part, centre) - radius > s.blendMm + margin) continue;
                    candParts.push_back(id);
                }
                g.partEnd = static_cast<int>(candParts.size());
                if (g.partEnd == g.partBegin) {
                    candParts.resize(static_cast<std::size_t>(g.cutBegin));
                    continue;
                }
                groups.push_back(g);
            }
            auto evalGroup = [&](const Group& g, const glm::dvec3& p) {
                const StructDef& s = m.defs[static_cast<std::size_t>(g.def)];
                double u = kInf;
                for (int c = g.partBegin; c < g.partEnd; ++c) {
                    const double d = partSdf(
                        m.parts[static_cast<std::size_t>(candParts[static_cast<std::size_t>(c)])],
                        p);
                    u = s.blendMm > 0.0 ? detail::smin(u, d, s.blendMm) : std::min(u, d);
                }
                if (g.cutEnd > g.cutBegin) {
                    double cmin = kInf;
                    for (int c = g.cutBegin; c < g.cutEnd; ++c)
                        cmin = std::min(cmin, partSdf(m.parts[static_cast<std::size_t>(
                                                          candParts[static_cast<std::size_t>(c)])],
                                                      p));
                    u = std::max(u, -cmin);
                }
                return u;
            };

            for (int j = ty; j < ey; ++j) {
                for (int i = tx; i < ex; ++i) {
                    const glm::dvec3 p = grid.worldFromIndex({i, j, k});
                    int winner = -1, up = -1, below = -1;
                    double dW = 0.0, dUp = kInf, dBelow = 0.0;
                    std::size_t gi = 0;
                    for (; gi < groups.size(); ++gi) {
                        const double d = evalGroup(groups[gi], p);
                        if (d < 0.0) {
                            winner = groups[gi].def;
                            dW = d;
                            break;
                        }
                        if (d < dUp) {
                            dUp = d;
                            up = groups[gi].def;
                        }
                    }
                    double value = m.huOf(winner, dW, h);
                    if (winner >= 0 && dW > -0.5 * h) {
                        for (std::size_t gb = gi + 1; gb < groups.size(); ++gb) {
                            const double d = evalGroup(groups[gb], p);
                            if (d < 0.0) {
                                below = groups[gb].def;
                                dBelow = d;
                                break;
                            }
                        }
                        const double f = std::clamp(0.5 - dW / h, 0.0, 1.0);
                        value = f * value + (1.0 - f) * m.huOf(below, dBelow, h);
                    }
                    if (up >= 0 && dUp < 0.5 * h) {
                        const double f = std::clamp(0.5 - dUp / h, 0.0, 1.0);
                        value = f * m.huOf(up, -1e-3, h) + (1.0 - f) * value;
                    }
                    const std::size_t idx =
                        static_cast<std::size_t>(j) * static_cast<std::size_t>(nx) +
                        static_cast<std::size_t>(i);
                    labels[idx] = winner < 0 ? label::kAir
                                             : m.defs[static_cast<std::size_t>(winner)].info.label;
                    hu[idx] = static_cast<float>(value);
                }
            }
        }
    }
}

} // namespace precis::phantom
