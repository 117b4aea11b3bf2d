#include "Cli.h"

#include "CliSupport.h"
#include "Commands.h"

#include "anatomy/IsoSurface.h"
#include "anatomy/LabelMapFile.h"
#include "core/AtomicFile.h"
#include "core/Error.h"
#include "core/Log.h"
#include "dicom/SeriesReader.h"
#include "export/PlanFile.h"
#include "dicom/SeriesWriter.h"
#include "phantom/LumbarPhantom.h"
#include "render/Camera.h"
#include "render/Context.h"
#include "render/Image.h"
#include "render/SceneRenderer.h"

#ifdef PRECIS_HAVE_GUI
#include "gui/GuiApp.h"
#endif

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace precis::app {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::ordered_json;

constexpr const char* kVersion = "0.1.0";

constexpr const char* kUsage = R"(precis — planning and rehearsal of interventional pain procedures

Usage:
  precis                      open the planner on the last case (the lumbar phantom the first time)
  precis DIR                  open the planner on the DICOM series in DIR
  precis PLAN.json            open the planner on a plan file and the series it names
  precis <command> [options]  run a headless command

Commands:
  phantom --out DIR [--seed N]
        Write the synthetic lumbar phantom (prone, L2-S1) as a DICOM CT series (one file per
        slice, CT_0001.dcm ...) into DIR, with its label volume (labels.nrrd, uint8, LPS) and
        ground truth (truth.json: structures, landmarks, polylines in LPS mm).
        --seed N            noise seed (default 1); the same seed gives identical voxels
  info DIR [--correct-tilt] [--resample-uniform]
        Print JSON describing every image series under DIR (a folder tree, a DICOMDIR or a
        file); non-image objects (RTSTRUCT, SEG, SR, RTPLAN, RTDOSE, presentation states) are
        listed under "objects" with their "kind":
        {"series":[{"seriesInstanceUid","modality","description","dims":[x,y,z],
          "spacingMm":[x,y,z],"originMm":[x,y,z],"direction":[9 numbers],"huRange":[min,max],
          "warnings":[...]}]}
        dims = [columns, rows, slices]; spacingMm = [along a row, along a column, between
        slices]; originMm = LPS centre of voxel (0,0,0); direction = row direction, column
        direction, slice normal (3 numbers each). Slices are ordered along the normal.
        Gantry tilt and non-uniform spacing are reported, and repaired only on request:
        --correct-tilt       resample a tilted stack onto an orthogonal grid
        --resample-uniform   resample non-uniform or missing slices to the median spacing
  render DIR --out FILE.png [--width W] [--height H] [--view V] [--iso HU]
         [--correct-tilt] [--resample-uniform]
        Draw the bone surface (iso-surface at --iso, default 300 HU) of the largest series in DIR
        offscreen with Vulkan and write a PNG (default 1280x960).
        --view V            anterior | posterior (default) | left | right | superior | inferior |
                            oblique. Anterior shows the patient's right on the image left.

  segment DIR --out OUTDIR [--smooth N] [--decimate RATIO] [--max-error-mm E]
        Segment the largest CT series in DIR (body, skin, bone, spinal canal, lungs, contrast
        vessels) and write into OUTDIR: labels.nrrd (uint8, LPS; values 1 skin, 2 body, 3 bone,
        4 canal, 5 lungs, 6 vessels), one closed (watertight) surface mesh per structure found as
        <structure>.stl and <structure>.gltf (LPS mm, also in glTF), and structures.json:
        {"series":{"seriesInstanceUid","modality","description","source","dims","spacingMm",
          "originMm","direction","warnings"},"frame":"LPS","units":"mm","mesh":{...},
         "structures":[{"name","kind","label","voxels","volumeMl","triangles","watertight",
          "seconds","confidence","notes",...}],"notes":[...],
         "timings":{"load","segment","mesh","write","total"}}   (seconds)
        Each mesh is the surface of its label voxels, smoothed and optionally decimated.
        --smooth N          windowed-sinc smoothing passes (volume preserving; default 20,
                            0 = none: the surface then follows the voxel faces' centres)
        --decimate RATIO    keep about RATIO of the triangles, 0 < RATIO <= 1 (default 1 = none)
        --max-error-mm E    largest allowed distance of the decimated mesh from the smoothed one,
                            measured (default 0.5 mm; stops early rather than exceed it)
  bench load DIR [--runs N] [--threads N]
        Time loading the largest series in DIR (scan + decode, median of --runs, default 5,
        warm page cache) beside reading the same files' bytes (the floor) and dcm2niix on the
        same folder; prints files, MB, seconds, MB/s, slices/s, peak RSS and each ratio to ours.
  bench mesh DIR [--hu HU] [--runs N]
        Time the mesh and distance kernels on the largest series in DIR, with one worker thread
        and all: iso-surface at --hu (default 250; closed at the border, and open as VTK's
        Flying Edges), windowed-sinc smoothing (20 passes; also with the adjacency prebuilt),
        decimation to 10 % under 0.5 mm (measured; also steered by the estimate alone), and the
        exact signed distance transform of value > HU. Prints the machine, seconds (median and
        min of --runs, default 5), voxels/s and triangles/s.
  plan ...
        The plan commands check devices against the case's structures: the phantom's truth
        when DIR holds labels.nrrd + truth.json (written by `precis phantom`), the output of
        `precis segment` with --labels SEGDIR, else automatic segmentation of DIR (no landmarks:
        no templates). Roles are each kind's default unless the plan's "structureRoles" sets
        another (evaluate, template into an existing plan, export --report). Devices are
        catalogue ids (see `precis devices`; --catalog FILE to use another catalogue). Plan
        files: versioned JSON in LPS mm (README "Plan file").
  plan template NAME --series DIR --out PLAN.json [--level L] [--side left|right]
       [--device ID] [--cone DEG] [--labels SEGDIR] [--catalog FILE]
        Propose a trajectory from a procedure template and add it to PLAN.json (created when
        missing; a trajectory of the same name is replaced; atomic save). NAME: mbrfa (medial
        branch RF, default level L4), tfesi (transforaminal, L4), ilesi (interlaminar, L4-L5),
        scs (SCS lead to the highest interlaminar level), drg (DRG lead, L4). The target is the
        case's landmark; the entry is the safest one within --cone degrees (default 15, widened
        by 10 up to twice when nothing is safe) of the textbook angle (CLINICAL.md). Prints
        {"plan","template","target":{"landmark","lps"},"textbookDirection","trajectory":{...}}.
  plan evaluate PLAN.json [--series DIR] [--labels SEGDIR] [--view X,Y,Z] [--catalog FILE]
        Check every trajectory against the case's structures (series from the plan, or --series;
        a different SeriesInstanceUID is warned about, the plan file is never changed). Prints
        {"plan","series","structuresFrom","trajectories":[{"name","device","entryLps",
          "targetLps","tipLps","lengthMm","usableLengthMm","angleToAxialDeg",
          "angleToSagittalDeg","angleToViewDeg","collisions":[{"structure","entryDepthMm",
          "exitDepthMm","kind","role"}],"intendedContacts":[...],"clearances":[{"structure",
          "minMm","pointLps","onPathLps","depthMm","kind","role"}],"riskScore","verdict",
          "reasons","warnings"}],"conflicts":[{"first","second","distanceMm","pointLps"}],
          "warnings","timings"}
        Depths are mm from the entry along the path; clearances are shaft surface to structure
        (device radius included), nearest first, within 20 mm. verdict: red = crosses a
        must-avoid structure, is blocked by bone along the shaft or the device is too short;
        amber = must-avoid closer than the plan's amberClearanceMm (3 mm), crosses a caution
        structure, devices closer than deviceConflictMm (5 mm); green otherwise. Contact at the
        tip with a structure the trajectory names in intendedContact is reported apart.
        --view X,Y,Z         C-arm beam direction (LPS) for angleToViewDeg
  plan suggest --series DIR --target X,Y,Z --device ID [--region R] [--top N]
       [--candidates N] [--w-must-avoid W] [--w-caution W] [--w-length W] [--risk-map FILE]
       [--labels SEGDIR] [--catalog FILE]
        Rank entries on the skin for a straight device to the target (LPS mm): at least
        --candidates (default 10000) entries scored on distance fields, the best refined on the
        skin, then checked exactly; the --top (default 5) collision-free ones are printed as
        {"target","device","region","intendedContact","weights","suggestions":[{...as evaluate...,"rank"}],
         "timing":{"candidates","feasible","exactEvaluations","scoreS","refineS","rankS",
         "searchS","sceneS"}}
        riskScore = W_mustAvoid*I_A + W_caution*I_C + W_length*lengthMm/100, where I_X is the
        integral along the path of exp(-clearance to X / 3 mm) (defaults 1, 0.2, 0.5).
        Structures within 1 mm of the shaft surface at the target (bone within 3 mm) are the
        intended contact at the tip (listed in "intendedContact"); crossed along the shaft they
        are collisions.
        --region R           posterior (default) | left | right | box:x0,y0,z0,x1,y1,z1 |
                             sphere:x,y,z,r; join with '+' (e.g. left+sphere:40,90,-60,30)
        --risk-map FILE      write the score of every skin vertex (JSON: positions, values)
  devices [--catalog FILE]
        List the device catalogue (assets/devices.json, built in) as JSON: id, name, type,
        gauge, outerDiameterMm, usableLengthMm, activeTipMm, curved, contacts, source.
  bench render [--frames N]
        Time drawing the phantom with every structure (one surface per label) offscreen at
        1280x720 and 1920x1080: still frames at full detail and interactive frames at the level
        of detail (<= 250 k triangles); prints median and p95 frame time over N frames (default
        20), triangles and the Vulkan device.
  bench plan [--series DIR] [--labels SEGDIR] [--runs N]
        Time the planning engine on the phantom (or DIR): safety scene build, trajectory
        suggestion (>= 10000 candidates) and field scoring with one worker and all, re-ranking
        after a weight change, and exact evaluations per second.
  export PLAN.json [--igtl HOST[:PORT]] [--igtl-serve PORT [--wait S] [--peers N]]
         [--frame LPS|RAS] [--timeout S] [--attempts N] [--slicer OUT.mrk.json]
         [--dicom OUTDIR] [--report OUT.pdf [--deidentify]] [--series DIR] [--labels SEGDIR]
         [--catalog FILE]
        Hand the plan (never modified) to other systems; give one or more targets. Files first:
        --slicer F          3D Slicer markups (.mrk.json, LPS): a Line (Curve for a lead) per
                            trajectory with control points Entry and Target, its length under
                            measurements; the landmarks as one Fiducial markup
        --dicom OUTDIR      DICOM RT Structure Set RS_<UID>.dcm in the planning CT's study and
                            frame of reference (the series of the plan, found in --series DIR or
                            the folder the plan names): per trajectory one ROI with POINT entry,
                            POINT target and an OPEN_NONPLANAR path; landmarks as POINT markers
        --report F.pdf      PDF report: patient, series, per trajectory entry/target (LPS),
                            length, angles, device, collisions, clearances, verdict and risk
                            (the plan evaluated on its series, as `plan evaluate`), a posterior
                            3D overview and a view down each needle
        --labels SEGDIR     structures for the report's evaluation (as for `plan evaluate`)
        --deidentify        teaching copy: no patient name or ID, dates, UIDs, folder or notes
        Then OpenIGTLink (protocol 2), per trajectory TRAJ, POINT (entry, target, landmarks),
        TRANSFORM (origin at the target, +Z towards the entry), POLYDATA (the device's shaft) and
        one STRING with the plan file; device names carry the frame: Precis_LPS_Traj, ...
        --igtl HOST[:PORT]  connect to the navigation system at HOST (default port 18944)
        --igtl-serve PORT   listen; each peer that connects gets the whole plan
        --frame LPS|RAS     coordinates sent (default LPS; 3D Slicer expects RAS: x, y negated)
        --timeout S         bounds the connect and each send (default 5 s; a peer that stops
                            reading fails after S s)
        --attempts N        connections tried with --igtl, 0.5 s apart then doubling (default 3)
        --wait S            with --igtl-serve: how long to wait for each peer (default 60 s)
        --peers N           with --igtl-serve: serve N peers, then stop (default 1)
        --catalog FILE      device catalogue for the device radii (default: built in)
  pacs echo|find|get --host H --port P --aet CALLED [--our-aet A] [--timeout S]
        DICOM query/retrieve (Study Root) with the PACS whose AE title is CALLED at H:P
        (--host default 127.0.0.1). --our-aet: our AE title (default PRECIS). --timeout S bounds
        every connect, association and message wait (default 10 s connect/association, 30 s
        message). echo: C-ECHO.
    find [--patient-id ID] [--patient-name NAME] [--date FROM-TO] [--modality M]
         [--level study|series] [--study UID]
        C-FIND; prints JSON {"peer","studies":[{"patientName","patientId","studyInstanceUid",
          "studyDate","studyDescription","accessionNumber","modalitiesInStudy","numberOfSeries",
          "numberOfInstances","series":[{"seriesInstanceUid","seriesNumber","modality",
          "description","numberOfInstances"}]}]}. NAME may use * and ?; --date is YYYYMMDD,
        YYYYMMDD-YYYYMMDD, YYYYMMDD- or -YYYYMMDD. --level study lists studies only; series
        (default) adds each study's series.
    get --study UID [--series UID] --out DIR [--move --store-port N]
        Retrieve a series (or the whole study) into DIR as <SOP Instance UID>.dcm by C-GET, or
        with --move by C-MOVE to our AE title: a storage SCP listens on port N during the call
        (the PACS must know our AE title with this host and port). Prints the files written.

Options for the planner (GUI):
  --screenshot FILE.png  --frames N   render N frames, save a screenshot and exit (scripted runs)
  --script FILE          run the actions in FILE (one per line, # comments) before those frames:
                         the same actions GUI tests use (README, "Scripted planner runs")

Global options:
  -h, --help      this text            --version    print the version
  -v, --verbose   developer log on stderr

Environment:
  PRECIS_VK_VALIDATION=1   enable Vulkan validation layers (tests do); any message fails the run
  PRECIS_THREADS=N         worker threads (default: all cores)

Exit codes: 0 success, 1 failure (message on stderr), 2 usage error.
Coordinates are DICOM patient LPS in millimetres everywhere.
)";

// --- phantom ---------------------------------------------------------------------------------

int cmdPhantom(const Args& a) {
    if (auto ok = allowOnly(a, {"--out", "--seed"}); !ok) return reportError(ok.error());
    auto out = a.options.find("--out");
    if (out == a.options.end() || !a.positional.empty())
        return reportError({ErrorCode::InvalidArgument, "usage: precis phantom --out DIR [--seed N]", {}});
    auto seed = intOption(a, "--seed", 1, 0, std::numeric_limits<long>::max());
    if (!seed) return reportError(seed.error());

    phantom::PhantomOptions opts;
    opts.seed = static_cast<std::uint64_t>(*seed);
    auto t0 = std::chrono::steady_clock::now();
    auto ph = phantom::makeLumbarPhantom(opts, terminalProgress());
    if (!ph) return reportError(ph.error());
    const fs::path dir = out->second;
    dicom::SeriesWriteOptions w;
    w.studyDescription = "Precis lumbar phantom";
    w.seriesDescription = ph->ct.identity.seriesDescription;
    auto id = dicom::writeCtSeries(ph->ct, w, dir);
    if (!id) return reportError(id.error());
    if (auto r = anatomy::writeLabelMap(ph->labels, dir / "labels.nrrd"); !r) return reportError(r.error());
    if (auto r = writeFileAtomically(dir / "truth.json", phantom::truthToJson(ph->truth)); !r)
        return reportError(r.error());
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const auto& g = ph->ct.geometry;
    std::printf("wrote lumbar phantom to %s: %d DICOM slices (%dx%d, %.2f x %.2f x %.2f mm), "
                "labels.nrrd, truth.json (%zu structures, %zu landmarks) in %.1f s\n",
                dir.c_str(), g.dims[2], g.dims[0], g.dims[1], g.spacingMm.x, g.spacingMm.y,
                g.spacingMm.z, ph->truth.structures.size(), ph->truth.landmarks.size(), s);
    return 0;
}

// --- info ------------------------------------------------------------------------------------


/// --correct-tilt / --resample-uniform: geometry repairs happen only when the user asks.
dicom::LoadOptions loadOptionsFrom(const Args& a) {
    dicom::LoadOptions o;
    o.correctTilt = hasFlag(a, "--correct-tilt");
    o.resampleToUniform = hasFlag(a, "--resample-uniform");
    return o;
}

int cmdInfo(const Args& a) {
    if (auto ok = allowOnly(a, {"--correct-tilt", "--resample-uniform"}); !ok)
        return reportError(ok.error());
    if (a.positional.size() != 1)
        return reportError({ErrorCode::InvalidArgument,
                            "usage: precis info DIR [--correct-tilt] [--resample-uniform]", {}});
    const dicom::LoadOptions loadOptions = loadOptionsFrom(a);
    auto series = dicom::scanSeries(a.positional[0], terminalProgress());
    if (!series) return reportError(series.error());
    json out;
    out["series"] = json::array();
    out["objects"] = json::array();
    int failures = 0, images = 0;
    for (const auto& s : *series) {
        if (!s.isImage()) {
            // Structure sets, segmentations, reports, plans: listed, not loaded as volumes.
            out["objects"].push_back({{"kind", s.kind},
                                      {"modality", s.modality},
                                      {"seriesInstanceUid", s.seriesInstanceUid},
                                      {"description", s.description},
                                      {"files", s.files.size()}});
            continue;
        }
        ++images;
        auto loaded = dicom::loadSeries(s, loadOptions, terminalProgress());
        json j;
        j["seriesInstanceUid"] = s.seriesInstanceUid;
        j["modality"] = s.modality;
        j["description"] = s.description;
        j["files"] = s.files.size();
        if (!loaded) {
            ++failures;
            j["error"] = loaded.error().message;
            j["warnings"] = json::array();
            out["series"].push_back(j);
            continue;
        }
        const auto& v = loaded->volume;
        const auto& g = v.geometry;
        j["dims"] = {g.dims[0], g.dims[1], g.dims[2]};
        j["spacingMm"] = vec3(g.spacingMm);
        j["originMm"] = vec3(g.originMm);
        json dir = json::array();
        for (int c = 0; c < 3; ++c)
            for (int r = 0; r < 3; ++r) dir.push_back(g.direction[c][r]);
        j["direction"] = dir;
        auto [lo, hi] = std::minmax_element(v.voxels.begin(), v.voxels.end());
        j["huRange"] = {*lo, *hi};
        j["patientPosition"] = v.identity.patientPosition;
        j["frameOfReferenceUid"] = v.identity.frameOfReferenceUid;
        json warnings = json::array();
        for (const auto& w : loaded->report.warnings)
            warnings.push_back({{"code", w.code}, {"message", w.message}, {"files", w.files}});
        for (const auto& w : s.scanWarnings)
            warnings.push_back({{"code", "unreadable-file"}, {"message", w}, {"files", json::array()}});
        j["warnings"] = warnings;
        out["series"].push_back(j);
    }
    std::printf("%s\n", out.dump(2).c_str());
    return images > 0 && failures == images ? 1 : 0;
}

// --- render ----------------------------------------------------------------------------------


int cmdRender(const Args& a) {
    if (auto ok = allowOnly(a, {"--out", "--width", "--height", "--view", "--iso",
                                "--correct-tilt", "--resample-uniform"});
        !ok)
        return reportError(ok.error());
    auto out = a.options.find("--out");
    if (a.positional.size() != 1 || out == a.options.end())
        return reportError({ErrorCode::InvalidArgument,
                            "usage: precis render DIR --out FILE.png [--width W --height H] "
                            "[--view V] [--iso HU]",
                            {}});
    auto width = intOption(a, "--width", 1280, 16, 16384);
    if (!width) return reportError(width.error());
    auto height = intOption(a, "--height", 960, 16, 16384);
    if (!height) return reportError(height.error());
    auto iso = doubleOption(a, "--iso", anatomy::kBoneIsoHu);
    if (!iso) return reportError(iso.error());
    std::string viewName = a.options.contains("--view") ? a.options.at("--view") : "posterior";
    auto view = render::viewPresetFromString(viewName);
    if (!view)
        return reportError({ErrorCode::InvalidArgument,
                            "--view must be anterior, posterior, left, right, superior, inferior "
                            "or oblique (got '" + viewName + "')",
                            {}});

    auto loaded =
        dicom::loadLargestSeries(a.positional[0], loadOptionsFrom(a), terminalProgress());
    if (!loaded) return reportError(loaded.error());
    model::Mesh mesh = anatomy::extractIsoSurface(loaded->volume, *iso, {}, terminalProgress());
    if (mesh.empty())
        return reportError({ErrorCode::InvalidArgument,
                            fmt::format("no surface at {} HU in {}: try another --iso", *iso,
                                        a.positional[0]),
                            {}});
    render::ContextOptions copts;
    copts.validation = validationRequested();
    auto ctx = render::Context::create(copts);
    if (!ctx) return reportError(ctx.error());
    render::MeshItem item{&mesh, glm::vec4(model::defaultColor(model::StructureKind::Bone), 1.0f)};
    auto camera = render::Camera::fit(mesh.bounds(), *view);
    auto image = render::renderMeshesOffscreen(**ctx, std::span(&item, 1), camera,
                                               static_cast<int>(*width), static_cast<int>(*height));
    if (!image) return reportError(image.error());
    if (auto r = render::writePng(*image, out->second); !r) return reportError(r.error());
    std::printf("wrote %s (%ldx%ld, %s view, %zu triangles at %g HU, device %s)\n",
                out->second.c_str(), *width, *height, viewName.c_str(), mesh.triangleCount(), *iso,
                (*ctx)->deviceName().c_str());
    if ((*ctx)->validationMessageCount() > 0) {
        for (const auto& m : (*ctx)->validationMessages())
            std::fprintf(stderr, "precis: vulkan validation: %s\n", m.c_str());
        return 1;
    }
    return 0;
}

// --- planner (GUI) ---------------------------------------------------------------------------

fs::path dataHome() {
    if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) return fs::path(x) / "precis";
    if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".local/share/precis";
    return fs::temp_directory_path() / "precis";
}

fs::path lastCaseFile() { return dataHome() / "last-case"; }

/// The case to open when none is named: the last one, else the phantom (generated once).
Result<fs::path> defaultCase() {
    if (auto last = readFile(lastCaseFile())) {
        fs::path p = *last;
        if (!p.empty() && fs::exists(p)) return p;
    }
    fs::path dir = dataHome() / "phantom";
    if (!fs::exists(dir / "truth.json")) {
        std::fprintf(stderr, "precis: generating the lumbar phantom in %s\n", dir.c_str());
        Args a;
        a.options["--out"] = dir.string();
        if (cmdPhantom(a) != 0)
            return fail(ErrorCode::IoError, "could not generate the phantom in " + dir.string());
    }
    return dir;
}

bool haveDisplay() {
    const char* x = std::getenv("DISPLAY");
    const char* w = std::getenv("WAYLAND_DISPLAY");
    return (x && *x) || (w && *w);
}

int cmdOpen(const Args& a) {
    if (auto ok = allowOnly(a, {"--screenshot", "--frames", "--width", "--height", "--script"}); !ok)
        return reportError(ok.error());
    if (a.positional.size() > 1)
        return reportError({ErrorCode::InvalidArgument, "usage: precis [DIR]", {}});
    fs::path casePath;
    if (a.positional.empty()) {
        auto c = defaultCase();
        if (!c) return reportError(c.error());
        casePath = *c;
    } else {
        casePath = a.positional[0];
        if (!fs::exists(casePath))
            return reportError({ErrorCode::NotFound, casePath.string() + ": no such file or folder", {}});
    }
    (void)writeFileAtomically(lastCaseFile(), fs::absolute(casePath).string());

    if (!haveDisplay()) {
        // Headless machine: draw the same scene offscreen and say where it went.
        fs::path png = a.options.contains("--screenshot") ? fs::path(a.options.at("--screenshot"))
                                                          : fs::current_path() / "precis-view.png";
        std::fprintf(stderr, "precis: no display available; rendering the case headless instead\n");
        fs::path series = casePath;
        if (casePath.extension() == ".json") {
            // A plan: draw the series it names (its trajectories: `precis export --report`).
            auto plan = exporting::loadPlan(casePath);
            if (!plan) return reportError(plan.error());
            if (plan->series.path.empty())
                return reportError({ErrorCode::InvalidArgument,
                                    casePath.string() + " names no series folder", {}});
            series = plan->series.path;
        }
        Args r;
        r.positional = {series.string()};
        r.options["--out"] = png.string();
        return cmdRender(r);
    }
#ifdef PRECIS_HAVE_GUI
    gui::GuiOptions g;
    // `precis PLAN.json` opens the plan with its series (plan.series.path).
    (casePath.extension() == ".json" ? g.planPath : g.seriesPath) = casePath;
    if (a.options.contains("--screenshot")) g.screenshotPath = a.options.at("--screenshot");
    auto frames = intOption(a, "--frames", 0, 0, 1000000);
    if (!frames) return reportError(frames.error());
    g.frames = static_cast<int>(*frames);
    // Without --width/--height the window opens at the size it had last time (gui::Settings).
    auto w = intOption(a, "--width", 0, 320, 16384), h = intOption(a, "--height", 0, 240, 16384);
    if (!w || !h) return reportError(!w ? w.error() : h.error());
    g.width = static_cast<int>(*w);
    g.height = static_cast<int>(*h);
    g.validation = validationRequested();
    if (a.options.contains("--script")) {
        const fs::path script = a.options.at("--script");
        auto text = readFile(script);
        if (!text) return reportError(text.error());
        std::istringstream lines(*text);
        for (std::string line; std::getline(lines, line);) {
            const auto first = line.find_first_not_of(" \t\r");
            if (first == std::string::npos || line[first] == '#') continue;
            const auto last = line.find_last_not_of(" \t\r");
            g.actions.push_back(line.substr(first, last - first + 1));
        }
        if (g.frames == 0) g.frames = 2; // a script runs to its end, then exits
    }
    return gui::runGui(g);
#else
    return reportError({ErrorCode::Unsupported, "this build has no GUI (PRECIS_BUILD_GUI=OFF)", {}});
#endif
}

} // namespace

int runCli(int argc, char** argv) {
    std::string command = argc > 1 ? argv[1] : "";
    bool isCommand = command == "phantom" || command == "info" || command == "render" ||
                     command == "bench" || command == "pacs" || command == "segment" ||
                     command == "plan" || command == "devices" || command == "export";
    auto args = parseArgs(argc, argv, isCommand ? 2 : 1);
    if (!args) return reportError(args.error());
    if (hasFlag(*args, "--verbose")) log::setLevel(log::Level::Debug);
    if (hasFlag(*args, "--help") || command == "help") {
        std::fputs(kUsage, stdout);
        return 0;
    }
    if (hasFlag(*args, "--version")) {
        std::printf("precis %s\n", kVersion);
        return 0;
    }
    if (command == "phantom") return cmdPhantom(*args);
    if (command == "info") return cmdInfo(*args);
    if (command == "render") return cmdRender(*args);
    if (command == "bench") return cmdBench(*args);
    if (command == "pacs") return cmdPacs(*args);
    if (command == "segment") return cmdSegment(*args);
    if (command == "plan") return cmdPlan(*args);
    if (command == "devices") return cmdDevices(*args);
    if (command == "export") return cmdExport(*args);
    if (!command.empty() && command[0] != '-' && !fs::exists(command))
        return reportError({ErrorCode::InvalidArgument,
                            "unknown command or missing folder '" + command + "' (see precis --help)",
                            {}});
    return cmdOpen(*args);
}

} // namespace precis::app
