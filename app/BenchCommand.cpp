// `precis bench load DIR`: how fast Precis turns a DICOM folder into a volume, beside the floor
// (reading the same bytes) and a peer (dcm2niix), in the same run. `precis bench mesh DIR`: the
// mesh and distance kernels on that volume, one thread and all.
#include "Commands.h"

#include "core/Parallel.h"
#include "anatomy/DistanceField.h"
#include "anatomy/IsoSurface.h"
#include "anatomy/MeshBvh.h"
#include "anatomy/MeshDecimation.h"
#include "anatomy/MeshSmoothing.h"
#include "dicom/SeriesReader.h"
#include "phantom/LumbarPhantom.h"
#include "render/Context.h"
#include "render/OffscreenTarget.h"
#include "render/SceneRenderer.h"
#ifdef PRECIS_HAVE_GUI
#include "gui/CaseLoader.h"
#include "gui/StructureMeshes.h"
#endif

#include <fmt/core.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace precis::app {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
}

/// Reads every byte of the files (in parallel, like the loader) and returns the byte count.
std::size_t readAll(const std::vector<fs::path>& files) {
    std::vector<std::size_t> bytes(files.size(), 0);
    parallelFor(0, files.size(), [&](std::size_t b, std::size_t e) {
        std::vector<char> buf(1 << 20);
        for (std::size_t i = b; i < e; ++i) {
            int fd = ::open(files[i].c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            ssize_t n;
            while ((n = ::read(fd, buf.data(), buf.size())) > 0) bytes[i] += std::size_t(n);
            ::close(fd);
        }
    });
    std::size_t total = 0;
    for (auto b : bytes) total += b;
    return total;
}

std::string cpuModel() {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

/// Peak RSS (MiB) of one load in a fresh child process, so earlier runs don't count.
double peakRssOfOneLoadMiB(const fs::path& dir) {
    pid_t pid = ::fork();
    if (pid == 0) {
        auto r = dicom::loadLargestSeries(dir);
        ::_exit(r ? 0 : 1);
    }
    int status = 0;
    struct rusage ru {};
    if (pid < 0 || ::wait4(pid, &status, 0, &ru) < 0) return -1;
    return double(ru.ru_maxrss) / 1024.0;
}

/// Baseline RSS of a forked child that does nothing (the process image, libraries).
double baselineRssMiB() {
    pid_t pid = ::fork();
    if (pid == 0) ::_exit(0);
    int status = 0;
    struct rusage ru {};
    if (pid < 0 || ::wait4(pid, &status, 0, &ru) < 0) return -1;
    return double(ru.ru_maxrss) / 1024.0;
}

int benchLoad(const Args& a) {
    if (auto ok = allowOnly(a, {"--runs", "--threads"}); !ok) return reportError(ok.error());
    if (a.positional.size() != 2)
        return reportError({ErrorCode::InvalidArgument,
                            "usage: precis bench load DIR [--runs N] [--threads N]", {}});
    auto runs = intOption(a, "--runs", 5, 1, 1000);
    if (!runs) return reportError(runs.error());
    auto threads = intOption(a, "--threads", 0, 0, 1024);
    if (!threads) return reportError(threads.error());
    if (*threads > 0) setWorkerCount(static_cast<unsigned>(*threads));
    const fs::path dir = a.positional[1];

    auto series = dicom::scanSeries(dir);
    if (!series) return reportError(series.error());
    const auto& files = series->front().files;

    // Warm the page cache, then time the floor: the same bytes, read in parallel.
    std::size_t bytes = readAll(files);
    std::vector<double> floorS, oursS;
    for (long r = 0; r < *runs; ++r) {
        auto t0 = Clock::now();
        readAll(files);
        floorS.push_back(secondsSince(t0));
    }
    model::ImageGeometry geometry;
    std::size_t volumeBytes = 0;
    for (long r = 0; r < *runs; ++r) {
        auto t0 = Clock::now();
        auto loaded = dicom::loadLargestSeries(dir);
        oursS.push_back(secondsSince(t0));
        if (!loaded) return reportError(loaded.error());
        geometry = loaded->volume.geometry;
        volumeBytes = loaded->volume.byteSize();
    }
    const double peak = peakRssOfOneLoadMiB(dir), base = baselineRssMiB();

    // The peer: dcm2niix on the same folder, uncompressed NIfTI output, into a scratch folder.
    double peerS = -1;
    if (std::system("command -v dcm2niix >/dev/null 2>&1") == 0) {
        fs::path out = fs::temp_directory_path() / fmt::format("precis-bench-dcm2niix-{}", ::getpid());
        std::vector<double> peer;
        for (long r = 0; r < std::min<long>(*runs, 3); ++r) {
            fs::remove_all(out);
            fs::create_directories(out);
            std::string cmd = fmt::format("dcm2niix -z n -b n -o '{}' '{}' >/dev/null 2>&1",
                                          out.string(), dir.string());
            auto t0 = Clock::now();
            int rc = std::system(cmd.c_str());
            peer.push_back(secondsSince(t0));
            if (rc != 0) {
                peer.clear();
                break;
            }
        }
        fs::remove_all(out);
        if (!peer.empty()) peerS = median(peer);
    }

    const double ours = median(oursS), floor = median(floorS);
    const double mb = double(bytes) / 1e6;
    std::printf("precis bench load: %s\n", dir.c_str());
    std::printf("machine: %s, %u hardware threads, %u worker threads; median of %ld runs, warm "
                "page cache\n",
                cpuModel().c_str(), std::thread::hardware_concurrency(), workerCount(), *runs);
    std::printf("series: %d x %d x %d, volume %.1f MiB\n\n", geometry.dims[0], geometry.dims[1],
                geometry.dims[2], double(volumeBytes) / (1 << 20));
    std::printf("%-22s %7s %9s %9s %9s %10s %14s %12s\n", "", "files", "MB", "seconds", "MB/s",
                "slices/s", "peak RSS MiB", "ours/this");
    std::printf("%-22s %7zu %9.1f %9.4f %9.0f %10.0f %14.1f %12s\n", "precis (scan+decode)",
                files.size(), mb, ours, mb / ours, geometry.dims[2] / ours, peak, "1.00");
    std::printf("%-22s %7zu %9.1f %9.4f %9.0f %10.0f %14s %12.2f\n", "read bytes (floor)",
                files.size(), mb, floor, mb / floor, geometry.dims[2] / floor, "-", ours / floor);
    if (peerS > 0)
        std::printf("%-22s %7zu %9.1f %9.4f %9.0f %10.0f %14s %12.2f\n", "dcm2niix", files.size(),
                    mb, peerS, mb / peerS, geometry.dims[2] / peerS, "-", ours / peerS);
    else
        std::printf("%-22s  (not installed or failed: apt-get install dcm2niix)\n", "dcm2niix");
    std::printf("\npeak RSS above an idle process: %.1f MiB = %.2f x the volume\n", peak - base,
                (peak - base) / (double(volumeBytes) / (1 << 20)));
    return 0;
}

struct Timed {
    double medianS = 0, minS = 0;
};

/// Median and minimum of `runs` calls of `work` with `threads` workers; `setup` (untimed) runs
/// before each call.
template <class Setup, class Work>
Timed timeRuns(unsigned threads, long runs, Setup&& setup, Work&& work) {
    setWorkerCount(threads);
    std::vector<double> s;
    for (long r = 0; r < runs; ++r) {
        setup();
        auto t0 = Clock::now();
        work();
        s.push_back(secondsSince(t0));
    }
    setWorkerCount(0);
    return {median(s), *std::min_element(s.begin(), s.end())};
}

void printRow(const char* stage, unsigned threads, const Timed& t, double voxels,
              std::size_t triangles, const std::string& note) {
    std::printf("%-30s %7u %9.4f %9.4f %10.1f %11zu %9.2f  %s\n", stage, threads, t.medianS,
                t.minS, voxels > 0 ? voxels / t.medianS / 1e6 : 0.0, triangles,
                double(triangles) / t.medianS / 1e6, note.c_str());
}

int benchMesh(const Args& a) {
    if (auto ok = allowOnly(a, {"--hu", "--runs"}); !ok) return reportError(ok.error());
    if (a.positional.size() != 2)
        return reportError({ErrorCode::InvalidArgument,
                            "usage: precis bench mesh DIR [--hu HU] [--runs N]", {}});
    auto iso = doubleOption(a, "--hu", 250.0);
    if (!iso) return reportError(iso.error());
    auto runs = intOption(a, "--runs", 5, 1, 1000);
    if (!runs) return reportError(runs.error());
    auto loaded = dicom::loadLargestSeries(a.positional[1]);
    if (!loaded) return reportError(loaded.error());
    const auto& v = loaded->volume;
    const double voxels = double(v.geometry.voxelCount());
    const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
    std::vector<unsigned> threadCounts{1u};
    if (hw > 1) threadCounts.push_back(hw);
    constexpr double kDecimateRatio = 0.1, kDecimateErrorMm = 0.5;
    constexpr int kSmoothPasses = 20;

    std::printf("precis bench mesh: %s at %g HU\n", a.positional[1].c_str(), *iso);
    std::printf("machine: %s, %u hardware threads; median and min of %ld runs\n",
                cpuModel().c_str(), hw, *runs);
    std::printf("volume: %d x %d x %d = %.1f M voxels\n\n", v.geometry.dims[0],
                v.geometry.dims[1], v.geometry.dims[2], voxels / 1e6);
    std::printf("%-30s %7s %9s %9s %10s %11s %9s  %s\n", "stage", "threads", "median s",
                "min s", "Mvoxel/s", "triangles", "Mtri/s", "");

    // Decimation to 10 %: steered by meshoptimizer's own (quadric) estimate of the error, then
    // with the exact error measured and the bound enforced (pieces over it redone); the
    // measurement's share of that call on a row of its own.
    auto decimationRows = [&](const model::Mesh& m, const std::string& what) {
        for (bool measured : {false, true})
            for (unsigned t : threadCounts) {
                anatomy::DecimationReport last;
                std::vector<double> measuring;
                Timed r = timeRuns(
                    t, *runs, [] {},
                    [&] {
                        auto d = anatomy::decimateMesh(m, {.targetRatio = kDecimateRatio,
                                                           .maxErrorMm = kDecimateErrorMm,
                                                           .measureError = measured,
                                                           .computeNormals = false});
                        if (d) last = d->report;
                        measuring.push_back(last.measureSeconds);
                    });
                if (!measured) {
                    printRow((what + "to 10%, estimate").c_str(), t, r, 0, m.triangleCount(),
                             fmt::format("-> {} triangles, estimated error {:.3f} mm (not a bound)",
                                         last.trianglesAfter, last.estimatedErrorMm));
                    continue;
                }
                printRow((what + "to 10%, <= 0.5 mm").c_str(), t, r, 0, m.triangleCount(),
                         fmt::format("-> {} triangles, measured error {:.3f} mm, {} attempt(s)",
                                     last.trianglesAfter, last.measuredErrorMm, last.attempts));
                const Timed share{median(measuring),
                                  *std::min_element(measuring.begin(), measuring.end())};
                printRow("  of which exact error", t, share, 0, m.triangleCount(),
                         "measuring the result (in pieces, in parallel, for large meshes)");
            }
    };

    // Iso-surface, closed at the border (ours) and open (VTK Flying Edges' output, like for like).
    model::Mesh surface;
    for (bool closed : {true, false})
        for (unsigned t : threadCounts) {
            model::Mesh m;
            Timed r = timeRuns(t, *runs, [&] { m = {}; }, [&] {
                m = anatomy::extractIsoSurface(v, *iso,
                                               {.computeNormals = false, .closeAtBorder = closed});
            });
            printRow(closed ? "iso-surface (closed)" : "iso-surface (open, as VTK FE)", t, r,
                     voxels, m.triangleCount(), closed && m.isClosedManifold() ? "watertight" : "");
            if (closed) surface = std::move(m);
        }
    if (surface.empty()) {
        std::printf("\nno surface at %g HU: smoothing and decimation skipped\n", *iso);
    } else {
        const std::string verts = fmt::format("{:.2f} M vertices", surface.positions.size() / 1e6);
        for (unsigned t : threadCounts) {
            model::Mesh m;
            Timed r = timeRuns(t, *runs, [&] { m = surface; }, [&] {
                anatomy::SmoothingOptions o;
                o.iterations = kSmoothPasses;
                o.recomputeNormals = false;
                (void)anatomy::smoothWindowedSinc(m, o);
            });
            printRow("windowed-sinc, 20 passes", t, r, 0, surface.triangleCount(), verts);
        }
        // The same with the vertex adjacency built beforehand (reusable across calls).
        const anatomy::VertexAdjacency adjacency = anatomy::buildVertexAdjacency(surface);
        for (unsigned t : threadCounts) {
            model::Mesh m;
            Timed r = timeRuns(t, *runs, [&] { m = surface; }, [&] {
                anatomy::SmoothingOptions o;
                o.iterations = kSmoothPasses;
                o.recomputeNormals = false;
                (void)anatomy::smoothWindowedSinc(m, adjacency, o);
            });
            printRow("  passes only (adjacency built)", t, r, 0, surface.triangleCount(), verts);
        }
        decimationRows(surface, "decimate ");
    }
    // The decimation case, 2 M -> 200 k triangles: the skin surface (-300 HU), which is
    // that size on a 512 x 512 x 600 CT (extraction not timed).
    {
        constexpr double kSkinHu = -300.0;
        const model::Mesh skin = anatomy::extractIsoSurface(
            v, kSkinHu, {.computeNormals = false, .closeAtBorder = true});
        if (!skin.empty()) decimationRows(skin, "skin -300 HU ");
    }
    // Exact signed distance transform of the whole volume (mask = value > HU; mask not timed).
    anatomy::Mask mask(v.geometry);
    const auto isoValue = *iso;
    parallelFor(0, v.voxels.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) mask.voxels[i] = v.voxels[i] > isoValue ? 1 : 0;
    });
    for (unsigned t : threadCounts) {
        anatomy::DistanceField f;
        Timed r = timeRuns(t, *runs, [&] { f = {}; },
                           [&] { f = anatomy::signedDistanceField(mask); });
        printRow("exact signed distance", t, r, voxels, 0, "mask = value > HU");
    }
    return 0;
}

#ifdef PRECIS_HAVE_GUI
/// `precis bench render [--frames N]`: the phantom scene with every structure (one label surface
/// each, as the planner shows them) drawn offscreen at 1280x720 and 1920x1080: the still
/// and final frames (display level, StructureMeshes.h) and the interactive frame (level of
/// detail, <= 250 k triangles): SceneRenderer's FrameQuality, each frame including the copy into
/// the target and its readback, as a screenshot does.
int benchRender(const Args& a) {
    if (auto ok = allowOnly(a, {"--frames"}); !ok) return reportError(ok.error());
    if (a.positional.size() != 1)
        return reportError({ErrorCode::InvalidArgument, "usage: precis bench render [--frames N]", {}});
    auto framesOpt = intOption(a, "--frames", 20, 2, 10000);
    if (!framesOpt) return reportError(framesOpt.error());
    const int frames = int(*framesOpt);

    auto t0 = Clock::now();
    auto ph = phantom::makeLumbarPhantom({});
    if (!ph) return reportError(ph.error());
    const double phantomS = secondsSince(t0);
    t0 = Clock::now();
    auto meshes = gui::extractStructureMeshes(ph->labels, ph->truth.structures);
    const double extractS = secondsSince(t0);
    t0 = Clock::now();
    const gui::LodReport lod = gui::buildLevelOfDetail(meshes, gui::kInteractiveTriangleBudget);
    const double lodS = secondsSince(t0);

    render::ContextOptions copts;
    copts.validation = validationRequested();
    auto ctx = render::Context::create(copts);
    if (!ctx) return reportError(ctx.error());
    std::vector<render::Drawable> still, interactive;
    model::Bounds bounds{glm::dvec3(1e300), glm::dvec3(-1e300)};
    for (const auto& m : meshes) {
        auto full = render::GpuMesh::upload(**ctx, gui::stillMesh(m));
        if (!full) return reportError(full.error());
        std::shared_ptr<const render::GpuMesh> small = *full;
        if (!m.lod.empty()) {
            auto l = render::GpuMesh::upload(**ctx, m.lod);
            if (!l) return reportError(l.error());
            small = *l;
        }
        // The planner's defaults: soft tissues faint (translucent, OIT), the canal translucent.
        const auto kind = m.info.kind;
        const bool bulky = kind == model::StructureKind::Skin || kind == model::StructureKind::Fat ||
                           kind == model::StructureKind::Muscle;
        const float opacity = kind == model::StructureKind::Canal ? 0.6f : bulky ? 0.3f : 1.0f;
        const glm::vec4 color(m.info.defaultColor, opacity);
        still.push_back({*full, color, true});
        interactive.push_back({small, color, true});
        bounds.minMm = glm::min(bounds.minMm, (*full)->bounds().minMm);
        bounds.maxMm = glm::max(bounds.maxMm, (*full)->bounds().maxMm);
    }

    std::printf("precis bench render: lumbar phantom (384 x 384 x 240), every structure drawn\n");
    std::printf("device: %s (Vulkan %s), %dx MSAA, validation %s; CPU: %s\n",
                (*ctx)->deviceName().c_str(), (*ctx)->deviceApiVersion().c_str(),
                int((*ctx)->msaaSamples()), (*ctx)->validationEnabled() ? "on" : "off",
                cpuModel().c_str());
    // The display level's exact deviation: every label-surface vertex's distance to its
    // structure's display mesh (the display vertices are label-surface vertices, at 0).
    t0 = Clock::now();
    std::vector<std::vector<float>> deviation(meshes.size());
    parallelFor(0, meshes.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e; ++i) {
            if (meshes[i].display.empty()) continue;
            const anatomy::MeshBvh bvh(meshes[i].display);
            for (const glm::vec3& p : meshes[i].full.positions)
                deviation[i].push_back(float(bvh.closestPoint(glm::dvec3(p)).distanceMm));
        }
    }, meshes.size());
    std::vector<float> all;
    for (const auto& d : deviation) all.insert(all.end(), d.begin(), d.end());
    std::sort(all.begin(), all.end());
    const double p99 = all.empty() ? 0.0 : all[all.size() * 99 / 100];
    const double p999 = all.empty() ? 0.0 : all[all.size() * 999 / 1000];
    const double maxDeviation = all.empty() ? 0.0 : all.back();
    const double measureS = secondsSince(t0);
    std::printf("scene: %zu structures; triangles: %zu label surfaces, %zu display level (<= %.2f mm "
                "estimated; measured at every label-surface vertex: 99%% within %.3f mm, 99.9%% within "
                "%.3f mm, max %.3f mm), %zu interactive (budget %zu, <= %.2f mm estimated)\n",
                meshes.size(), lod.fullTriangles, lod.displayTriangles, gui::kDisplayErrorMm, p99,
                p999, maxDeviation, lod.lodTriangles, gui::kInteractiveTriangleBudget, lod.maxEstimatedErrorMm);
    std::printf("frames: interactive (camera moving) %.0f%% of the view size, no MSAA, back faces of "
                "translucent surfaces culled; still (first frame at rest) full size, no MSAA; final "
                "(the resting view, screenshots) full size, %dx MSAA\n",
                100.0 * render::SceneRenderer::kInteractiveScale, int((*ctx)->msaaSamples()));
    std::printf("prepare: phantom %.2f s, surfaces %.2f s, levels of detail %.2f s (measuring the "
                "display level %.2f s)\n\n",
                phantomS, extractS, lodS, measureS);
    std::printf("%-11s %-13s %10s %10s %10s %8s\n", "size", "frame", "triangles", "median ms",
                "p95 ms", "fps");
    struct Size {
        int w, h;
    };
    for (const Size size : {Size{1280, 720}, Size{1920, 1080}}) {
        auto target = render::OffscreenTarget::create(**ctx, size.w, size.h, VK_SAMPLE_COUNT_1_BIT);
        if (!target) return reportError(target.error());
        auto renderer = render::SceneRenderer::create(**ctx, (*target)->renderPass(), (*target)->samples());
        if (!renderer) return reportError(renderer.error());
        using Q = render::FrameQuality;
        for (const Q quality : {Q::Interactive, Q::Still, Q::Final}) {
            const bool moving = quality == Q::Interactive;
            render::Scene scene;
            scene.drawables = moving ? interactive : still;
            render::Camera cam = render::Camera::fit(bounds, render::ViewPreset::Oblique,
                                                     double(size.w) / size.h);
            std::vector<double> ms;
            std::size_t triangles = 0;
            for (int f = 0; f < frames + 2; ++f) { // two warm-up frames
                cam.orbit(0.02, 0.0);
                const auto start = Clock::now();
                Result<void> prepared;
                auto done = (*ctx)->submitImmediate([&](VkCommandBuffer cmd) {
                    const auto& t = **target;
                    prepared = (*renderer)->prepare(cmd, scene, cam, t.extent(), quality);
                    t.beginRenderPass(cmd);
                    (*renderer)->record(cmd, {0, 0, float(size.w), float(size.h)});
                    t.endRenderPassAndCopy(cmd);
                });
                if (!done) return reportError(done.error());
                if (!prepared) return reportError(prepared.error());
                if (f >= 2) ms.push_back(secondsSince(start) * 1000.0);
                triangles = (*renderer)->lastTriangleCount();
            }
            std::sort(ms.begin(), ms.end());
            const double med = ms[ms.size() / 2];
            const double p95 = ms[std::min(ms.size() - 1, std::size_t(0.95 * double(ms.size())))];
            const char* name = moving ? "interactive" : quality == Q::Still ? "still" : "final (MSAA)";
            std::printf("%-11s %-13s %10zu %10.1f %10.1f %8.1f\n",
                        fmt::format("{}x{}", size.w, size.h).c_str(), name, triangles, med, p95, 1000.0 / med);
        }
    }
    return 0;
}
#endif

} // namespace

int cmdBench(const Args& a) {
    const std::string what = a.positional.empty() ? "" : a.positional[0];
    if (what == "load") return benchLoad(a);
    if (what == "mesh") return benchMesh(a);
#ifdef PRECIS_HAVE_GUI
    if (what == "render") return benchRender(a);
#endif
    if (what == "plan") return cmdBenchPlan(a);
    return reportError({ErrorCode::InvalidArgument,
                        "usage: precis bench load DIR [--runs N] [--threads N] | "
                        "precis bench mesh DIR [--hu HU] [--runs N] | "
                        "precis bench render [--frames N]",
                        {}});
}

} // namespace precis::app
