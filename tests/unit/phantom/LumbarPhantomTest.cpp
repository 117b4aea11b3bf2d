#include "phantom/LumbarPhantom.h"

#include "phantom/LumbarModel.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cmath>
#include <map>
#include <queue>
#include <vector>

namespace precis::phantom {
namespace {

// Most tests use a coarse grid (1.56 mm pixels, 2 mm slices) covering the same field of view.
PhantomOptions coarse(std::uint64_t seed = 1) {
    PhantomOptions o;
    o.seed = seed;
    o.columns = 192;
    o.rows = 192;
    o.slices = 120;
    o.pixelMm = 1.56;
    o.sliceMm = 2.0;
    return o;
}

const Phantom& coarsePhantom() {
    static const Phantom p = [] {
        auto r = makeLumbarPhantom(coarse());
        EXPECT_TRUE(r.has_value());
        return r ? std::move(*r) : Phantom{};
    }();
    return p;
}

const Phantom& defaultPhantom() {
    static const Phantom p = [] {
        auto r = makeLumbarPhantom(PhantomOptions{});
        EXPECT_TRUE(r.has_value());
        return r ? std::move(*r) : Phantom{};
    }();
    return p;
}

glm::ivec3 nearestVoxel(const model::ImageGeometry& g, const glm::dvec3& lps) {
    const glm::dvec3 ijk = g.indexFromWorld(lps);
    return {static_cast<int>(std::lround(ijk.x)), static_cast<int>(std::lround(ijk.y)),
            static_cast<int>(std::lround(ijk.z))};
}

TEST(LumbarPhantom, DefaultGeometryIsAProneAxialScan) {
    const auto t0 = std::chrono::steady_clock::now();
    const Phantom& p = defaultPhantom();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    RecordProperty("generation_s", std::to_string(seconds));
    const auto& g = p.ct.geometry;
    EXPECT_EQ(g.dims, (std::array<int, 3>{384, 384, 240}));
    EXPECT_DOUBLE_EQ(g.spacingMm.x, 0.78);
    EXPECT_DOUBLE_EQ(g.spacingMm.y, 0.78);
    EXPECT_DOUBLE_EQ(g.spacingMm.z, 1.0);
    EXPECT_EQ(g.direction[0], glm::dvec3(-1, 0, 0));
    EXPECT_EQ(g.direction[1], glm::dvec3(0, -1, 0));
    EXPECT_EQ(g.direction[2], glm::dvec3(0, 0, 1));
    EXPECT_TRUE(g.hasOrthonormalDirection());
    EXPECT_TRUE(p.labels.geometry.sameGridAs(g));
    EXPECT_EQ(p.ct.voxels.size(), g.voxelCount());
    EXPECT_EQ(p.labels.voxels.size(), g.voxelCount());
    EXPECT_EQ(p.ct.identity.patientName, "PHANTOM^LUMBAR");
    EXPECT_EQ(p.ct.identity.patientId, "PRECIS-PHANTOM");
    EXPECT_EQ(p.ct.identity.modality, "CT");
    EXPECT_EQ(p.ct.identity.patientPosition, "HFP");
    EXPECT_EQ(p.ct.identity.seriesDescription, "Lumbar phantom L2-S1 (synthetic)");
    EXPECT_TRUE(p.ct.identity.seriesInstanceUid.empty());

    // Spine centred in x; L2 inside the top and S1 inside the bottom of the z range with margin.
    const LumbarModel m;
    const auto b = g.worldBounds();
    EXPECT_NEAR((b.minMm.x + b.maxMm.x) / 2.0, 0.0, 0.5);
    const auto& v = m.vertebrae();
    EXPECT_LT(v.front().originLps.z + v.front().bodyHeightMm / 2.0, b.maxMm.z - 15.0);
    EXPECT_GT(v.back().originLps.z - v.back().bodyHeightMm / 2.0, b.minMm.z + 15.0);
    // The body fits the field of view: the border of every slice is air.
    for (int k = 0; k < g.dims[2]; k += 20) {
        for (int i = 0; i < g.dims[0]; ++i) {
            EXPECT_EQ(p.labels.at(i, 0, k), 0);
            EXPECT_EQ(p.labels.at(i, g.dims[1] - 1, k), 0);
        }
        for (int j = 0; j < g.dims[1]; ++j) {
            EXPECT_EQ(p.labels.at(0, j, k), 0);
            EXPECT_EQ(p.labels.at(g.dims[0] - 1, j, k), 0);
        }
    }
    // Prone: index j = 0 is the posterior (+y) edge of the image.
    EXPECT_GT(g.worldFromIndex({0, 0, 0}).y, g.worldFromIndex({0, 1, 0}).y);
}

TEST(LumbarPhantom, HuStatisticsMatchDesignValues) {
    const Phantom& p = defaultPhantom();
    const LumbarModel m;
    // Per label: mean HU over voxels whose 6-neighbours share the label (away from partial volume).
    std::map<int, std::pair<double, long>> sums;
    double fat2 = 0.0;
    const auto& g = p.ct.geometry;
    for (int k = 1; k + 1 < g.dims[2]; k += 3) {
        for (int j = 1; j + 1 < g.dims[1]; ++j) {
            for (int i = 1; i + 1 < g.dims[0]; ++i) {
                const int l = p.labels.at(i, j, k);
                if (p.labels.at(i - 1, j, k) != l || p.labels.at(i + 1, j, k) != l ||
                    p.labels.at(i, j - 1, k) != l || p.labels.at(i, j + 1, k) != l ||
                    p.labels.at(i, j, k - 1) != l || p.labels.at(i, j, k + 1) != l)
                    continue;
                auto& s = sums[l];
                s.first += p.ct.at(i, j, k);
                ++s.second;
                if (l == label::kRetroperitonealFat)
                    fat2 += double(p.ct.at(i, j, k)) * p.ct.at(i, j, k);
            }
        }
    }
    auto mean = [&](int l) {
        const auto& s = sums[l];
        EXPECT_GT(s.second, 50) << "label " << l;
        return s.second ? s.first / static_cast<double>(s.second) : 0.0;
    };
    EXPECT_NEAR(mean(label::kAir), -1000.0, 5.0);
    EXPECT_NEAR(mean(label::kDiscL4L5), 80.0, 5.0);
    EXPECT_NEAR(mean(label::kDuralSac), 15.0, 5.0);
    EXPECT_NEAR(mean(label::kEpiduralFat), -100.0, 10.0);
    EXPECT_NEAR(mean(label::kSubcutaneousFat), -100.0, 5.0);
    EXPECT_NEAR(mean(label::kPsoasLeft), 50.0, 5.0);
    EXPECT_NEAR(mean(label::kParaspinalRight), 50.0, 5.0);
    EXPECT_NEAR(mean(label::kAorta), 40.0, 5.0);
    EXPECT_NEAR(mean(label::kKidneyLeft), 30.0, 5.0);
    // Vertebral body: cancellous core at the centre, cortical shell on the anterior surface.
    for (const auto& f : m.vertebrae()) {
        SCOPED_TRACE(f.name);
        double core = 0.0;
        int n = 0;
        for (int dz = -2; dz <= 2; ++dz) {
            for (int dy = -3; dy <= 3; ++dy) {
                for (int dx = -3; dx <= 3; ++dx) {
                    const glm::ivec3 v = nearestVoxel(g, f.originLps + glm::dvec3(dx, dy, dz));
                    core += p.ct.at(v.x, v.y, v.z);
                    ++n;
                }
            }
        }
        EXPECT_NEAR(core / n, LumbarModel::kCancellousHu, 12.0);
        // Maximum along a ray through the anterior wall: the cortex (partial volume lowers it).
        double peak = -2000.0;
        for (double t = f.bodyDepthMm / 2.0 - 3.0; t < f.bodyDepthMm / 2.0 + 2.0; t += 0.2) {
            const glm::ivec3 v = nearestVoxel(g, f.originLps - f.posterior * t);
            peak = std::max(peak, static_cast<double>(p.ct.at(v.x, v.y, v.z)));
        }
        EXPECT_GT(peak, 800.0);
    }
    // Noise SD in a homogeneous region (fat) close to the requested 20 HU.
    const auto& fat = sums[label::kRetroperitonealFat];
    ASSERT_GT(fat.second, 1000);
    const double fatMean = fat.first / static_cast<double>(fat.second);
    const double sd = std::sqrt(fat2 / static_cast<double>(fat.second) - fatMean * fatMean);
    EXPECT_NEAR(sd, 20.0, 3.0);
}

TEST(LumbarPhantom, EveryStructureHasVoxelsAndTruthLandmarksHitTheirLabels) {
    const Phantom& p = defaultPhantom();
    std::array<long, 256> counts{};
    for (auto l : p.labels.voxels) ++counts[l];
    for (const auto& s : p.truth.structures) EXPECT_GT(counts[s.label], 0) << s.name;
    for (int l = 1; l < 256; ++l) {
        if (counts[static_cast<std::size_t>(l)] == 0) continue;
        bool known = false;
        for (const auto& s : p.truth.structures) known = known || s.label == l;
        EXPECT_TRUE(known) << "voxels with undeclared label " << l;
    }
    const auto& g = p.labels.geometry;
    for (const auto& lm : p.truth.landmarks) {
        SCOPED_TRACE(lm.name);
        const glm::ivec3 v = nearestVoxel(g, lm.lps);
        ASSERT_TRUE(g.contains(v.x, v.y, v.z));
        if (lm.kind == "drg_center") {
            const int level = lm.level == "S1" ? 4 : lm.level[1] - '2';
            EXPECT_EQ(p.labels.at(v.x, v.y, v.z), label::drg(level, lm.side == "left" ? 0 : 1));
        } else if (lm.kind == "interlaminar_target") {
            EXPECT_EQ(p.labels.at(v.x, v.y, v.z), label::kEpiduralFat);
        }
    }
    EXPECT_EQ(p.truth.landmarks.size(), 34u);
}

TEST(LumbarPhantom, VertebraeAreSingleBlobsOrderedInZAndPosteriorElementsPointUp) {
    const Phantom& p = defaultPhantom();
    const auto& g = p.labels.geometry;
    const auto& dims = g.dims;
    std::array<double, 5> meanZ{};
    for (int lv = 0; lv < kLevelCount; ++lv) {
        const std::uint8_t l = label::vertebra(lv);
        std::vector<char> seen(p.labels.voxels.size(), 0);
        long total = 0, first = -1;
        double zs = 0.0;
        for (std::size_t i = 0; i < p.labels.voxels.size(); ++i) {
            if (p.labels.voxels[i] != l) continue;
            ++total;
            if (first < 0) first = static_cast<long>(i);
            zs +=
                g.worldFromIndex({0, 0, static_cast<double>(i / (std::size_t(dims[0]) * dims[1]))})
                    .z;
        }
        ASSERT_GT(total, 0);
        meanZ[static_cast<std::size_t>(lv)] = zs / static_cast<double>(total);
        // Flood fill (6-connected) from the first voxel.
        std::queue<std::size_t> q;
        q.push(static_cast<std::size_t>(first));
        seen[static_cast<std::size_t>(first)] = 1;
        long reached = 0;
        while (!q.empty()) {
            const std::size_t c = q.front();
            q.pop();
            ++reached;
            const int i = static_cast<int>(c % dims[0]);
            const int j = static_cast<int>((c / dims[0]) % dims[1]);
            const int k = static_cast<int>(c / (std::size_t(dims[0]) * dims[1]));
            const int nb[6][3] = {{1, 0, 0},  {-1, 0, 0}, {0, 1, 0},
                                  {0, -1, 0}, {0, 0, 1},  {0, 0, -1}};
            for (const auto& d : nb) {
                const int a = i + d[0], b = j + d[1], e = k + d[2];
                if (!g.contains(a, b, e)) continue;
                const std::size_t n = g.linearIndex(a, b, e);
                if (seen[n] || p.labels.voxels[n] != l) continue;
                seen[n] = 1;
                q.push(n);
            }
        }
        EXPECT_EQ(reached, total) << levelName(lv) << " is not one connected blob";
        if (reached != total) {
            for (std::size_t i = 0; i < p.labels.voxels.size(); ++i)
                if (p.labels.voxels[i] == l && !seen[i]) {
                    const int a = static_cast<int>(i % dims[0]);
                    const int b = static_cast<int>((i / dims[0]) % dims[1]);
                    const int e = static_cast<int>(i / (std::size_t(dims[0]) * dims[1]));
                    const glm::dvec3 w = g.worldFromIndex({a, b, e});
                    ADD_FAILURE() << "stray voxel at " << w.x << " " << w.y << " " << w.z;
                }
        }
    }
    for (int lv = 0; lv + 1 < kLevelCount; ++lv) EXPECT_GT(meanZ[lv], meanZ[lv + 1] + 25.0);

    // Spinous processes: the most posterior bone voxel of each lumbar vertebra lies on the midline
    // and far behind the body centre.
    const LumbarModel m;
    for (int lv = 0; lv < 4; ++lv) {
        double maxY = -1e9, xAtMax = 0.0;
        for (int k = 0; k < dims[2]; ++k)
            for (int j = 0; j < dims[1]; ++j)
                for (int i = 0; i < dims[0]; ++i)
                    if (p.labels.at(i, j, k) == label::vertebra(lv)) {
                        const glm::dvec3 w = g.worldFromIndex({i, j, k});
                        if (w.y > maxY) {
                            maxY = w.y;
                            xAtMax = w.x;
                        }
                    }
        const auto& f = m.vertebrae()[static_cast<std::size_t>(lv)];
        EXPECT_GT(maxY, f.originLps.y + 55.0) << f.name;
        EXPECT_LT(std::abs(xAtMax), 5.0) << f.name;
    }
}

TEST(LumbarPhantom, DeterministicPerSeed) {
    const Phantom& a = coarsePhantom();
    auto b = makeLumbarPhantom(coarse(1));
    auto c = makeLumbarPhantom(coarse(2));
    ASSERT_TRUE(b && c);
    EXPECT_EQ(a.ct.voxels, b->ct.voxels);
    EXPECT_EQ(a.labels.voxels, b->labels.voxels);
    EXPECT_EQ(a.labels.voxels, c->labels.voxels);
    EXPECT_NE(a.ct.voxels, c->ct.voxels);
    // Same means: only the noise differs.
    double da = 0.0;
    for (std::size_t i = 0; i < a.ct.voxels.size(); ++i) da += a.ct.voxels[i] - c->ct.voxels[i];
    EXPECT_LT(std::abs(da / static_cast<double>(a.ct.voxels.size())), 0.5);

    PhantomOptions quiet = coarse();
    quiet.noiseSdHu = 0.0;
    auto q = makeLumbarPhantom(quiet);
    ASSERT_TRUE(q);
    EXPECT_EQ(q->labels.voxels, a.labels.voxels);
}

TEST(LumbarPhantom, RejectsBadOptionsAndHonoursCancel) {
    PhantomOptions o = coarse();
    o.columns = 0;
    auto r = makeLumbarPhantom(o);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::InvalidArgument);
    EXPECT_FALSE(r.error().message.empty());
    o = coarse();
    o.pixelMm = -1.0;
    EXPECT_FALSE(makeLumbarPhantom(o));
    o = coarse();
    o.noiseSdHu = NAN;
    EXPECT_FALSE(makeLumbarPhantom(o));

    CancelToken token;
    int reports = 0;
    Progress progress(
        [&](double f, std::string_view) {
            ++reports;
            if (f > 0.2) token.cancel();
        },
        &token);
    auto cancelled = makeLumbarPhantom(coarse(), progress);
    ASSERT_FALSE(cancelled);
    EXPECT_EQ(cancelled.error().code, ErrorCode::Cancelled);
    EXPECT_GT(reports, 1);

    double last = -1.0;
    bool monotonic = true;
    Progress watch([&](double f, std::string_view stage) {
        monotonic = monotonic && f >= last && !stage.empty();
        last = f;
    });
    ASSERT_TRUE(makeLumbarPhantom(coarse(), watch));
    EXPECT_TRUE(monotonic);
    EXPECT_DOUBLE_EQ(last, 1.0);
}

TEST(LumbarPhantom, TruthJsonRoundTrip) {
    const Truth& t = coarsePhantom().truth;
    const std::string text = truthToJson(t);
    EXPECT_NE(text.find("\"frame\": \"LPS\""), std::string::npos);
    EXPECT_NE(text.find("\"L4_left_medial_branch_target\""), std::string::npos);
    auto back = truthFromJson(text);
    ASSERT_TRUE(back) << back.error().message;
    ASSERT_EQ(back->structures.size(), t.structures.size());
    for (std::size_t i = 0; i < t.structures.size(); ++i) {
        EXPECT_EQ(back->structures[i].name, t.structures[i].name);
        EXPECT_EQ(back->structures[i].label, t.structures[i].label);
        EXPECT_EQ(back->structures[i].kind, t.structures[i].kind);
        EXPECT_EQ(back->structures[i].role, t.structures[i].role);
    }
    ASSERT_EQ(back->landmarks.size(), t.landmarks.size());
    for (std::size_t i = 0; i < t.landmarks.size(); ++i) {
        EXPECT_EQ(back->landmarks[i].name, t.landmarks[i].name);
        EXPECT_EQ(back->landmarks[i].kind, t.landmarks[i].kind);
        EXPECT_EQ(back->landmarks[i].level, t.landmarks[i].level);
        EXPECT_EQ(back->landmarks[i].side, t.landmarks[i].side);
        EXPECT_NEAR(glm::length(back->landmarks[i].lps - t.landmarks[i].lps), 0.0, 1e-9);
    }
    ASSERT_EQ(back->polylines.size(), t.polylines.size());
    for (std::size_t i = 0; i < t.polylines.size(); ++i) {
        EXPECT_EQ(back->polylines[i].name, t.polylines[i].name);
        ASSERT_EQ(back->polylines[i].lps.size(), t.polylines[i].lps.size());
    }
    EXPECT_EQ(truthToJson(*back), text);
}

TEST(LumbarPhantom, TruthFromJsonRejectsGarbage) {
    const std::string good = truthToJson(coarsePhantom().truth);
    const std::vector<std::string> bad{
        "",
        "not json",
        "[]",
        R"({"frame":"RAS","units":"mm","structures":[],"landmarks":[],"polylines":[]})",
        R"({"frame":"LPS","units":"cm","structures":[],"landmarks":[],"polylines":[]})",
        R"({"frame":"LPS","units":"mm","structures":{},"landmarks":[],"polylines":[]})",
        R"({"frame":"LPS","units":"mm","structures":[{"name":"x","label":300,"kind":"bone"}],"landmarks":[],"polylines":[]})",
        R"({"frame":"LPS","units":"mm","structures":[{"name":"x","label":3,"kind":"rock"}],"landmarks":[],"polylines":[]})",
        R"({"frame":"LPS","units":"mm","structures":[],"landmarks":[{"name":"a","kind":"k","lps":[1,2]}],"polylines":[]})",
        R"({"frame":"LPS","units":"mm","structures":[],"landmarks":[{"name":"a","kind":"k","lps":[1,"2",3]}],"polylines":[]})",
        R"({"frame":"LPS","units":"mm","structures":[],"landmarks":[],"polylines":[{"name":"a","kind":"k","lps":[[1,2,3],4]}]})",
    };
    for (const auto& s : bad) {
        auto r = truthFromJson(s);
        ASSERT_FALSE(r) << s;
        EXPECT_EQ(r.error().code, ErrorCode::ParseError);
        EXPECT_FALSE(r.error().message.empty());
    }
    // Every truncated prefix fails cleanly (stride keeps the loop fast).
    for (std::size_t n = 0; n + 1 < good.size(); n += 97)
        EXPECT_FALSE(truthFromJson(good.substr(0, n)));
    EXPECT_TRUE(truthFromJson(good));
}

} // namespace
} // namespace precis::phantom
