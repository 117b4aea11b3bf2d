#include "dicom/SeriesReader.h"

#include "core/Parallel.h"
#include "dicom/detail/Dcmtk.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>

namespace precis::dicom {
namespace {

namespace fs = std::filesystem;

/// What a header-only read tells about one image file.
struct SliceHeader {
    fs::path file;
    std::string sopClassUid, seriesUid, studyUid, modality, description, patientName, seriesDate;
    std::string imageType, patientPosition, frameOfReferenceUid, patientId;
    int rows = 0, cols = 0, frames = 1;
    bool hasGeometry = false;
    double iop[6] = {1, 0, 0, 0, 1, 0};
    double ipp[3] = {0, 0, 0};
    double pixelSpacing[2] = {1, 1}; // row spacing, column spacing
    bool hasPixelSpacing = false;
    double windowCenter = NAN, windowWidth = NAN;
    E_TransferSyntax xfer = EXS_Unknown;
};

bool looksLikeDicom(const fs::path& file) {
    if (file.extension() == ".dcm" || file.extension() == ".DCM") return true;
    std::FILE* f = std::fopen(file.c_str(), "rb");
    if (!f) return false;
    char magic[4] = {};
    bool yes = std::fseek(f, 128, SEEK_SET) == 0 && std::fread(magic, 1, 4, f) == 4 &&
               std::memcmp(magic, "DICM", 4) == 0;
    std::fclose(f);
    return yes;
}

bool loadHeader(const fs::path& file, SliceHeader& h, std::string& whyNot) {
    DcmFileFormat ff;
    OFCondition c = ff.loadFileUntilTag(file.c_str(), EXS_Unknown, EGL_noChange, 4096,
                                        ERM_autoDetect, DCM_PixelData);
    if (c.bad()) {
        // Folders from CDs and PACS exports hold viewers, READMEs and our own labels.nrrd: only a
        // file that claims to be DICOM (preamble magic or .dcm name) is worth a warning.
        if (looksLikeDicom(file))
            whyNot = fmt::format("{}: not readable as DICOM ({})", file.string(), c.text());
        return false;
    }
    DcmDataset& d = *ff.getDataset();
    using detail::getString;
    h.file = file;
    h.xfer = d.getOriginalXfer();
    h.sopClassUid = getString(d, DCM_SOPClassUID);
    if (h.sopClassUid.empty()) h.sopClassUid = getString(*ff.getMetaInfo(), DCM_MediaStorageSOPClassUID);
    h.seriesUid = getString(d, DCM_SeriesInstanceUID);
    h.studyUid = getString(d, DCM_StudyInstanceUID);
    h.modality = getString(d, DCM_Modality);
    h.description = getString(d, DCM_SeriesDescription);
    h.patientName = getString(d, DCM_PatientName);
    h.patientId = getString(d, DCM_PatientID);
    h.seriesDate = getString(d, DCM_SeriesDate);
    h.imageType = getString(d, DCM_ImageType, 0) + "\\" + getString(d, DCM_ImageType, 1) + "\\" +
                  getString(d, DCM_ImageType, 2);
    h.patientPosition = getString(d, DCM_PatientPosition);
    h.frameOfReferenceUid = getString(d, DCM_FrameOfReferenceUID);
    Uint16 v = 0;
    if (d.findAndGetUint16(DCM_Rows, v).good()) h.rows = v;
    if (d.findAndGetUint16(DCM_Columns, v).good()) h.cols = v;
    Sint32 frames = 1;
    if (d.findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 0) h.frames = frames;
    h.hasGeometry = detail::getDoubles(d, DCM_ImageOrientationPatient, h.iop, 6) &&
                    detail::getDoubles(d, DCM_ImagePositionPatient, h.ipp, 3);
    h.hasPixelSpacing = detail::getDoubles(d, DCM_PixelSpacing, h.pixelSpacing, 2);
    Float64 f = 0;
    if (d.findAndGetFloat64(DCM_WindowCenter, f).good()) h.windowCenter = f;
    if (d.findAndGetFloat64(DCM_WindowWidth, f).good()) h.windowWidth = f;
    if (h.rows <= 0 || h.cols <= 0) {
        whyNot = fmt::format("{}: not an image (SOP class {})", file.string(),
                             h.sopClassUid.empty() ? "unknown" : h.sopClassUid);
        return false;
    }
    return true;
}

std::vector<fs::path> listFiles(const fs::path& path) {
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
        files.push_back(path);
        return files;
    }
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

glm::dvec3 vec(const double* p) { return {p[0], p[1], p[2]}; }

/// Stack key: slices only form one volume when orientation, matrix and spacing agree.
std::string stackKey(const SliceHeader& h) {
    auto r = [](double x) { return std::lround(x * 1e4); };
    std::string uid = h.seriesUid.empty() ? "(no uid) " + h.file.parent_path().string() : h.seriesUid;
    return fmt::format("{}|{}x{}|{},{},{},{},{},{}|{},{}", uid, h.cols, h.rows, r(h.iop[0]),
                       r(h.iop[1]), r(h.iop[2]), r(h.iop[3]), r(h.iop[4]), r(h.iop[5]),
                       r(h.pixelSpacing[0]), r(h.pixelSpacing[1]));
}

bool isLocalizer(const SliceHeader& h) {
    return h.imageType.find("LOCALIZER") != std::string::npos;
}

Result<std::vector<SliceHeader>> readHeaders(const std::vector<fs::path>& files,
                                             std::vector<std::string>* skipped,
                                             const Progress& progress) {
    std::vector<std::optional<SliceHeader>> headers(files.size());
    std::vector<std::string> why(files.size());
    std::atomic<std::size_t> done{0};
    std::atomic<bool> cancelled{false};
    parallelFor(0, files.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e && !cancelled; ++i) {
            SliceHeader h;
            if (loadHeader(files[i], h, why[i])) headers[i] = std::move(h);
            std::size_t n = ++done;
            if (n % 64 == 0) {
                progress.report(0.2 * double(n) / files.size(), "reading headers");
                if (progress.cancelled()) cancelled = true;
            }
        }
    });
    if (cancelled) return fail(ErrorCode::Cancelled, "import cancelled");
    std::vector<SliceHeader> out;
    for (std::size_t i = 0; i < files.size(); ++i) {
        if (headers[i]) out.push_back(std::move(*headers[i]));
        else if (skipped && !why[i].empty()) skipped->push_back(why[i]);
    }
    return out;
}

/// Decodes one file's pixels into `dst` (cols*rows int16, HU for CT). Returns the number of
/// values clamped into the int16 range.
Result<std::size_t> decodeSlice(const fs::path& file, int cols, int rows, std::int16_t* dst) {
    DcmFileFormat ff;
    OFCondition c = ff.loadFile(file.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                ERM_autoDetect);
    if (c.bad())
        return fail(ErrorCode::ParseError, fmt::format("{}: cannot read DICOM file", file.string()),
                    c.text());
    DcmDataset& d = *ff.getDataset();
    const E_TransferSyntax xfer = d.getOriginalXfer();
    DcmXfer xferInfo(xfer);
    if (xferInfo.isEncapsulated()) {
        c = d.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        if (c.bad() || !d.canWriteXfer(EXS_LittleEndianExplicit))
            return fail(ErrorCode::UnsupportedEncoding,
                        fmt::format("{}: unsupported encoding {} ({}): no decoder for this transfer "
                                    "syntax",
                                    file.string(), xferInfo.getXferName(), xferInfo.getXferID()),
                        c.text());
    }
    Uint16 bitsAllocated = 0, bitsStored = 0, highBit = 0, pixelRep = 0, samples = 1;
    d.findAndGetUint16(DCM_BitsAllocated, bitsAllocated);
    if (d.findAndGetUint16(DCM_BitsStored, bitsStored).bad()) bitsStored = bitsAllocated;
    if (d.findAndGetUint16(DCM_HighBit, highBit).bad()) highBit = bitsStored - 1;
    d.findAndGetUint16(DCM_PixelRepresentation, pixelRep);
    d.findAndGetUint16(DCM_SamplesPerPixel, samples);
    if (samples != 1)
        return fail(ErrorCode::Unsupported,
                    fmt::format("{}: colour images ({} samples per pixel) cannot be planned on",
                                file.string(), samples));
    if ((bitsAllocated != 8 && bitsAllocated != 16) || bitsStored == 0 || bitsStored > bitsAllocated ||
        highBit >= bitsAllocated || highBit + 1 < bitsStored)
        return fail(ErrorCode::ParseError,
                    fmt::format("{}: unsupported pixel layout (BitsAllocated {}, BitsStored {}, "
                                "HighBit {})",
                                file.string(), bitsAllocated, bitsStored, highBit));
    Float64 slope = 1, intercept = 0;
    if (d.findAndGetFloat64(DCM_RescaleSlope, slope).bad() || slope == 0) slope = 1;
    if (d.findAndGetFloat64(DCM_RescaleIntercept, intercept).bad()) intercept = 0;

    const std::size_t n = static_cast<std::size_t>(cols) * rows;
    const int shift = highBit + 1 - bitsStored;
    const std::uint32_t mask = bitsStored >= 32 ? 0xffffffffu : ((1u << bitsStored) - 1u);
    const std::uint32_t signBit = 1u << (bitsStored - 1);
    std::size_t clamped = 0;
    auto convert = [&](std::uint32_t raw) -> std::int16_t {
        std::uint32_t u = (raw >> shift) & mask;
        double stored = (pixelRep == 1 && (u & signBit)) ? double(std::int64_t(u) - (std::int64_t(1) << bitsStored))
                                                         : double(u);
        double value = std::nearbyint(stored * slope + intercept);
        if (value < -32768.0 || value > 32767.0) {
            ++clamped;
            value = std::clamp(value, -32768.0, 32767.0);
        }
        return static_cast<std::int16_t>(value);
    };

    DcmElement* pixelData = nullptr;
    if (d.findAndGetElement(DCM_PixelData, pixelData).bad() || !pixelData)
        return fail(ErrorCode::ParseError, fmt::format("{}: no pixel data", file.string()));
    if (bitsAllocated == 16) {
        Uint16* p = nullptr;
        c = pixelData->getUint16Array(p);
        if (c.bad() || !p || pixelData->getLength() < n * 2)
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: pixel data is truncated ({} bytes for {}x{} pixels)",
                                    file.string(), pixelData->getLength(), cols, rows));
        for (std::size_t i = 0; i < n; ++i) dst[i] = convert(p[i]);
    } else {
        Uint8* p = nullptr;
        c = pixelData->getUint8Array(p);
        if (c.bad() || !p || pixelData->getLength() < n)
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: pixel data is truncated ({} bytes for {}x{} pixels)",
                                    file.string(), pixelData->getLength(), cols, rows));
        for (std::size_t i = 0; i < n; ++i) dst[i] = convert(p[i]);
    }
    return clamped;
}

} // namespace

Result<std::vector<SeriesSummary>> scanSeries(const fs::path& path, const Progress& progress) {
    std::error_code ec;
    if (!fs::exists(path, ec))
        return fail(ErrorCode::NotFound, fmt::format("{}: no such file or folder", path.string()));
    detail::registerCodecs();
    auto files = listFiles(path);
    std::vector<std::string> skipped;
    auto headers = readHeaders(files, &skipped, progress);
    if (!headers) return std::unexpected(headers.error());

    std::map<std::string, SeriesSummary> groups;
    for (auto& h : *headers) {
        auto& s = groups[stackKey(h)];
        if (s.files.empty()) {
            s.seriesInstanceUid = h.seriesUid;
            s.studyInstanceUid = h.studyUid;
            s.modality = h.modality;
            s.description = h.description;
            s.patientName = h.patientName;
            s.seriesDate = h.seriesDate;
        }
        s.files.push_back(h.file);
    }
    std::vector<SeriesSummary> out;
    for (auto& [key, s] : groups) {
        s.scanWarnings = skipped;
        out.push_back(std::move(s));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.files.size() > b.files.size(); });
    if (out.empty())
        return fail(ErrorCode::NotFound,
                    fmt::format("{}: no DICOM image series found ({} files looked at{})",
                                path.string(), files.size(),
                                skipped.empty() ? std::string() : "; first problem: " + skipped.front()));
    return out;
}

Result<LoadedSeries> loadSeries(const SeriesSummary& series, const Progress& progress) {
    detail::registerCodecs();
    LoadedSeries out;
    auto& report = out.report;
    auto headersOr = readHeaders(series.files, nullptr, progress);
    if (!headersOr) return std::unexpected(headersOr.error());
    for (const auto& h : *headersOr) {
        DcmXfer x(h.xfer);
        if (x.isEncapsulated() && !DcmCodecList::canChangeCoding(h.xfer, EXS_LittleEndianExplicit))
            return fail(ErrorCode::UnsupportedEncoding,
                        fmt::format("{}: unsupported encoding {} ({}): no decoder for this "
                                    "transfer syntax is available",
                                    h.file.string(), x.getXferName(), x.getXferID()));
    }
    std::vector<SliceHeader> headers;
    for (auto& h : *headersOr) {
        if (isLocalizer(h)) {
            report.add("localizer-excluded", "a localizer/scout image was left out of the volume",
                       {h.file.string()});
            continue;
        }
        if (!h.hasGeometry) {
            report.add("no-geometry",
                       "image has no Image Position/Orientation (Patient) and was left out",
                       {h.file.string()});
            continue;
        }
        headers.push_back(std::move(h));
    }
    if (headers.empty())
        return fail(ErrorCode::NotFound,
                    fmt::format("{}: no image with Image Position/Orientation (Patient), so nothing "
                                "can be placed in 3D",
                                series.files.empty() ? std::string("series") : series.files.front().string()));
    const SliceHeader& first = headers.front();
    if (first.frames > 1)
        return fail(ErrorCode::Unsupported,
                    fmt::format("{}: multi-frame images are not supported yet", first.file.string()));

    glm::dvec3 rowDir = vec(first.iop), colDir = vec(first.iop + 3);
    glm::dvec3 normal = glm::cross(rowDir, colDir);
    if (std::abs(glm::length(rowDir) - 1) > 1e-3 || std::abs(glm::length(colDir) - 1) > 1e-3 ||
        std::abs(glm::dot(rowDir, colDir)) > 1e-3) {
        report.add("orientation-not-orthonormal",
                   "Image Orientation (Patient) cosines are not orthonormal; they were normalised",
                   {first.file.string()});
    }
    rowDir = glm::normalize(rowDir);
    colDir = glm::normalize(colDir);
    normal = glm::normalize(normal);
    if (!first.hasPixelSpacing)
        report.add("no-pixel-spacing", "no Pixel Spacing; 1 mm was assumed", {first.file.string()});

    std::stable_sort(headers.begin(), headers.end(), [&](const auto& a, const auto& b) {
        return glm::dot(vec(a.ipp), normal) < glm::dot(vec(b.ipp), normal);
    });
    const int slices = static_cast<int>(headers.size());
    double sliceSpacing = 1.0;
    if (slices > 1) {
        std::vector<double> gaps;
        for (int k = 1; k < slices; ++k)
            gaps.push_back(glm::dot(vec(headers[k].ipp) - vec(headers[k - 1].ipp), normal));
        std::vector<double> sorted = gaps;
        std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
        sliceSpacing = sorted[sorted.size() / 2];
        double lo = *std::min_element(gaps.begin(), gaps.end());
        double hi = *std::max_element(gaps.begin(), gaps.end());
        for (int k = 1; k < slices; ++k) {
            double g = gaps[k - 1];
            if (g < 1e-3)
                report.add("duplicate-position", fmt::format("two slices share position {:.3f} mm",
                                                             glm::dot(vec(headers[k].ipp), normal)),
                           {headers[k - 1].file.string(), headers[k].file.string()});
            else if (g > 1.5 * sliceSpacing)
                report.add("missing-slice",
                           fmt::format("gap of {:.3f} mm where {:.3f} mm is the median: slices are "
                                       "missing; positions were assumed uniform",
                                       g, sliceSpacing),
                           {headers[k - 1].file.string(), headers[k].file.string()});
        }
        if (hi - lo > 1e-3 * std::max(1.0, sliceSpacing))
            report.add("non-uniform-spacing",
                       fmt::format("slice spacing varies from {:.4f} to {:.4f} mm; the median {:.4f} "
                                   "mm was used",
                                   lo, hi, sliceSpacing));
        glm::dvec3 disp = vec(headers.back().ipp) - vec(headers.front().ipp);
        if (glm::length(disp) > 0) {
            double tilt = glm::degrees(std::acos(std::clamp(
                glm::dot(glm::normalize(disp), normal), -1.0, 1.0)));
            if (tilt > 0.01)
                report.add("gantry-tilt",
                           fmt::format("the slice stack is tilted {:.2f} degrees from the slice "
                                       "normal (gantry tilt); it was not corrected",
                                       tilt));
        }
        if (sliceSpacing <= 1e-6) sliceSpacing = 1.0;
    }
    if (series.seriesInstanceUid.empty())
        report.add("empty-series-uid",
                   "the files have no Series Instance UID; they were grouped by folder, matrix and "
                   "orientation");

    model::ImageGeometry g;
    g.dims = {first.cols, first.rows, slices};
    g.spacingMm = {first.pixelSpacing[1], first.pixelSpacing[0], sliceSpacing};
    g.originMm = vec(first.ipp);
    g.direction = glm::dmat3(rowDir, colDir, normal);

    out.volume = model::Volume(g);
    auto& id = out.volume.identity;
    id.patientName = first.patientName;
    id.patientId = first.patientId;
    id.studyInstanceUid = first.studyUid;
    id.seriesInstanceUid = first.seriesUid;
    id.frameOfReferenceUid = first.frameOfReferenceUid;
    id.modality = first.modality;
    id.seriesDescription = first.description;
    id.patientPosition = first.patientPosition;
    if (std::isfinite(first.windowCenter) && std::isfinite(first.windowWidth) && first.windowWidth > 0) {
        out.volume.windowCenter = first.windowCenter;
        out.volume.windowWidth = first.windowWidth;
    }

    const std::size_t sliceVoxels = static_cast<std::size_t>(g.dims[0]) * g.dims[1];
    std::vector<std::optional<Error>> errors(slices);
    std::atomic<std::size_t> clamped{0};
    std::atomic<int> done{0};
    std::atomic<bool> cancelled{false};
    parallelFor(0, slices, [&](std::size_t b, std::size_t e) {
        for (std::size_t k = b; k < e && !cancelled; ++k) {
            auto r = decodeSlice(headers[k].file, g.dims[0], g.dims[1],
                                 out.volume.voxels.data() + k * sliceVoxels);
            if (!r) errors[k] = r.error();
            else clamped += *r;
            int n = ++done;
            progress.report(0.2 + 0.8 * double(n) / slices, "decoding slices");
            if (progress.cancelled()) cancelled = true;
        }
    });
    if (cancelled) return fail(ErrorCode::Cancelled, "import cancelled");
    for (auto& e : errors)
        if (e) return std::unexpected(*e);
    if (clamped > 0)
        report.add("values-clamped",
                   fmt::format("{} pixel values fell outside the 16-bit signed range after the "
                               "rescale and were clamped",
                               clamped.load()));
    return out;
}

Result<LoadedSeries> loadLargestSeries(const fs::path& path, const Progress& progress) {
    auto series = scanSeries(path, progress);
    if (!series) return std::unexpected(series.error());
    return loadSeries(series->front(), progress);
}

} // namespace precis::dicom
