#include "dicom/SeriesReader.h"

#include "core/Parallel.h"
#include "dicom/detail/Dcmtk.h"
#include "dicom/detail/Jpeg2000.h"

#include <dcmtk/dcmdata/dccodec.h>
#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcmetinf.h>
#include <dcmtk/dcmdata/dcpixel.h>
#include <dcmtk/dcmdata/dcpixseq.h>
#include <dcmtk/dcmdata/dcpxitem.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmdata/dcxfer.h>
#include <fmt/core.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace precis::dicom {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxFramesPerFile = 65536;
constexpr std::size_t kMaxVoxels = std::size_t(1) << 31; // 4 GiB of int16
constexpr std::int16_t kCtAirHu = -1024;

/// What a header-only read tells about one image frame (or, for non-images, one object).
struct SliceHeader {
    fs::path file;
    int frame = 0;        // 0-based frame within the file
    int framesInFile = 1; // Number of Frames
    bool functionalGroups = false; // geometry came from (enhanced) functional groups
    std::string kind = "image";
    std::string sopClassUid, seriesUid, studyUid, modality, description, patientName, seriesDate;
    std::string imageType, patientPosition, frameOfReferenceUid, patientId;
    std::string studyDescription, studyDate, seriesNumber;
    int rows = 0, cols = 0, bitsAllocated = 16;
    bool hasGeometry = false;
    bool hasIop = false, hasIpp = false;
    double iop[6] = {1, 0, 0, 0, 1, 0};
    double ipp[3] = {0, 0, 0};
    double pixelSpacing[2] = {1, 1}; // row spacing, column spacing
    bool hasPixelSpacing = false;
    bool hasRescale = false; // slope/intercept from functional groups (per frame or shared)
    double slope = 1, intercept = 0;
    double windowCenter = NAN, windowWidth = NAN;
    bool lossy = false;
    E_TransferSyntax xfer = EXS_Unknown;
    std::string metaXferUid; // (0002,0010) as written, even when DCMTK does not know it
    // Uncompressed little-endian 16-bit single-frame images without padding: everything the
    // pixel conversion needs, so the pixel bytes can be read straight from the file (see
    // readNativePixels) instead of parsing the whole dataset again.
    bool nativeFastPath = false;
    int bitsStored = 16, highBit = 15;
    bool pixelSigned = false;
    double topSlope = 1, topIntercept = 0;
};

/// Outcome of reading one file's header.
struct FileHeaders {
    std::vector<SliceHeader> frames;  // image frames (one for a classic single-frame image)
    std::optional<SliceHeader> object; // a non-image object (SR, RTSTRUCT, ...), listed
    std::string whyNot;                // set when the file is DICOM but unusable
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

bool startsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

/// What kind of object a file holds, from its SOP class (modality as fallback).
std::string classify(const std::string& sopClass, const std::string& modality, int rows, int cols) {
    if (startsWith(sopClass, "1.2.840.10008.5.1.4.1.1.88.")) return "sr";
    if (sopClass == "1.2.840.10008.5.1.4.1.1.481.3") return "rtstruct";
    if (sopClass == "1.2.840.10008.5.1.4.1.1.481.2") return "rtdose";
    if (sopClass == "1.2.840.10008.5.1.4.1.1.481.5" || sopClass == "1.2.840.10008.5.1.4.1.1.481.8")
        return "rtplan";
    if (sopClass == "1.2.840.10008.5.1.4.1.1.66.4") return "seg";
    if (startsWith(sopClass, "1.2.840.10008.5.1.4.1.1.11.")) return "presentation-state";
    if (startsWith(sopClass, "1.2.840.10008.5.1.4.1.1.481.") &&
        sopClass != "1.2.840.10008.5.1.4.1.1.481.1")
        return "other"; // RT treatment records, ion plans ... (481.1 is RT Image)
    if (startsWith(sopClass, "1.2.840.10008.5.1.4.1.1.66.") ||
        startsWith(sopClass, "1.2.840.10008.5.1.4.1.1.104."))
        return "other"; // registrations, fiducials, surfaces, encapsulated documents
    if (modality == "SR" || modality == "KO") return "sr";
    if (modality == "RTSTRUCT") return "rtstruct";
    if (modality == "RTDOSE") return "rtdose";
    if (modality == "RTPLAN") return "rtplan";
    if (modality == "SEG") return "seg";
    if (modality == "PR") return "presentation-state";
    if (rows > 0 && cols > 0) return "image";
    return "other";
}

bool finite(const double* v, int n) {
    for (int i = 0; i < n; ++i)
        if (!std::isfinite(v[i])) return false;
    return true;
}

/// Applies one frame's functional groups (per-frame first, shared as fallback) to `h`.
void applyFunctionalGroups(DcmItem* perFrame, DcmItem* shared, SliceHeader& h) {
    auto group = [&](const DcmTagKey& seq) -> DcmItem* {
        DcmItem* item = nullptr;
        if (perFrame && perFrame->findAndGetSequenceItem(seq, item, 0).good() && item) return item;
        item = nullptr;
        if (shared && shared->findAndGetSequenceItem(seq, item, 0).good() && item) return item;
        return nullptr;
    };
    double v[6];
    if (DcmItem* g = group(DCM_PlanePositionSequence);
        g && detail::getDoubles(*g, DCM_ImagePositionPatient, v, 3) && finite(v, 3)) {
        std::copy(v, v + 3, h.ipp);
        h.functionalGroups = true;
        h.hasIpp = true;
    } else if (h.framesInFile > 1) {
        h.hasIpp = false; // a top-level position cannot place every frame
    }
    if (DcmItem* g = group(DCM_PlaneOrientationSequence);
        g && detail::getDoubles(*g, DCM_ImageOrientationPatient, v, 6) && finite(v, 6)) {
        std::copy(v, v + 6, h.iop);
        h.hasIop = true;
    }
    h.hasGeometry = h.hasIop && h.hasIpp;
    if (DcmItem* g = group(DCM_PixelMeasuresSequence);
        g && detail::getDoubles(*g, DCM_PixelSpacing, v, 2) && finite(v, 2) && v[0] > 0 && v[1] > 0) {
        h.pixelSpacing[0] = v[0];
        h.pixelSpacing[1] = v[1];
        h.hasPixelSpacing = true;
    }
    if (DcmItem* g = group(DCM_PixelValueTransformationSequence)) {
        Float64 slope = 1, intercept = 0;
        bool hasSlope = g->findAndGetFloat64(DCM_RescaleSlope, slope).good();
        bool hasIntercept = g->findAndGetFloat64(DCM_RescaleIntercept, intercept).good();
        if (hasSlope || hasIntercept) {
            h.hasRescale = true;
            h.slope = (hasSlope && slope != 0 && std::isfinite(slope)) ? slope : 1.0;
            h.intercept = (hasIntercept && std::isfinite(intercept)) ? intercept : 0.0;
        }
    }
    if (DcmItem* g = group(DCM_FrameVOILUTSequence)) {
        Float64 f = 0;
        if (g->findAndGetFloat64(DCM_WindowCenter, f).good()) h.windowCenter = f;
        if (g->findAndGetFloat64(DCM_WindowWidth, f).good()) h.windowWidth = f;
    }
}

FileHeaders loadHeader(const fs::path& file) {
    FileHeaders out;
    DcmFileFormat ff;
    OFCondition c = ff.loadFileUntilTag(file.c_str(), EXS_Unknown, EGL_noChange, 4096,
                                        ERM_autoDetect, DCM_PixelData);
    if (c.bad()) {
        // Folders from CDs and PACS exports hold viewers, READMEs and our own labels.nrrd: only a
        // file that claims to be DICOM (preamble magic or .dcm name) is worth a warning.
        if (looksLikeDicom(file))
            out.whyNot = fmt::format("{}: not readable as DICOM ({})", file.string(), c.text());
        return out;
    }
    DcmDataset& d = *ff.getDataset();
    using detail::getString;
    const std::string mediaClass = getString(*ff.getMetaInfo(), DCM_MediaStorageSOPClassUID);
    if (mediaClass == UID_MediaStorageDirectoryStorage) return out; // a DICOMDIR: not an object
    SliceHeader h;
    h.file = file;
    h.xfer = d.getOriginalXfer();
    h.metaXferUid = getString(*ff.getMetaInfo(), DCM_TransferSyntaxUID);
    h.sopClassUid = getString(d, DCM_SOPClassUID);
    if (h.sopClassUid.empty()) h.sopClassUid = mediaClass;
    h.seriesUid = getString(d, DCM_SeriesInstanceUID);
    h.studyUid = getString(d, DCM_StudyInstanceUID);
    h.modality = getString(d, DCM_Modality);
    h.description = getString(d, DCM_SeriesDescription);
    h.patientName = getString(d, DCM_PatientName);
    h.patientId = getString(d, DCM_PatientID);
    h.seriesDate = getString(d, DCM_SeriesDate);
    h.studyDescription = getString(d, DCM_StudyDescription);
    h.studyDate = getString(d, DCM_StudyDate);
    h.seriesNumber = getString(d, DCM_SeriesNumber);
    h.imageType = getString(d, DCM_ImageType, 0) + "\\" + getString(d, DCM_ImageType, 1) + "\\" +
                  getString(d, DCM_ImageType, 2);
    h.patientPosition = getString(d, DCM_PatientPosition);
    h.frameOfReferenceUid = getString(d, DCM_FrameOfReferenceUID);
    h.lossy = getString(d, DCM_LossyImageCompression) == "01" || DcmXfer(h.xfer).isLossy();
    Uint16 v = 0;
    if (d.findAndGetUint16(DCM_Rows, v).good()) h.rows = v;
    if (d.findAndGetUint16(DCM_Columns, v).good()) h.cols = v;
    if (d.findAndGetUint16(DCM_BitsAllocated, v).good()) h.bitsAllocated = v;
    {
        Uint16 stored = 0, high = 0, rep = 0, samples = 1;
        Sint32 nFrames = 1;
        const bool layout = d.findAndGetUint16(DCM_BitsStored, stored).good() &&
                            d.findAndGetUint16(DCM_HighBit, high).good() &&
                            d.findAndGetUint16(DCM_PixelRepresentation, rep).good();
        d.findAndGetUint16(DCM_SamplesPerPixel, samples);
        if (d.findAndGetSint32(DCM_NumberOfFrames, nFrames).bad()) nFrames = 1;
        Float64 slope = 1, intercept = 0;
        if (d.findAndGetFloat64(DCM_RescaleSlope, slope).bad() || slope == 0 || !std::isfinite(slope))
            slope = 1;
        if (d.findAndGetFloat64(DCM_RescaleIntercept, intercept).bad() || !std::isfinite(intercept))
            intercept = 0;
        h.bitsStored = stored;
        h.highBit = high;
        h.pixelSigned = rep == 1;
        h.topSlope = slope;
        h.topIntercept = intercept;
        h.nativeFastPath = layout && samples == 1 && nFrames <= 1 && h.bitsAllocated == 16 &&
                           stored >= 1 && stored <= 16 && high < 16 && high + 1 >= stored &&
                           (h.xfer == EXS_LittleEndianExplicit || h.xfer == EXS_LittleEndianImplicit) &&
                           !d.tagExists(DCM_PixelPaddingValue) && !d.tagExists(DCM_PixelPaddingRangeLimit);
    }
    h.kind = classify(h.sopClassUid, h.modality, h.rows, h.cols);
    // DCMTK's auto-detection parses almost any bytes as a dataset (a .nii.gz "loads"): without
    // SOP class, modality or DICM magic it is no DICOM object at all.
    if (h.kind == "other" && h.sopClassUid.empty() && h.modality.empty() && !looksLikeDicom(file))
        return out;
    if (h.kind != "image") {
        out.object = std::move(h);
        return out;
    }
    Sint32 frames = 1;
    if (d.findAndGetSint32(DCM_NumberOfFrames, frames).good() && frames > 1) {
        if (frames > kMaxFramesPerFile) {
            out.whyNot = fmt::format("{}: implausible Number of Frames {}", file.string(), frames);
            return out;
        }
        h.framesInFile = frames;
    }
    h.hasIop = detail::getDoubles(d, DCM_ImageOrientationPatient, h.iop, 6) && finite(h.iop, 6);
    h.hasIpp = detail::getDoubles(d, DCM_ImagePositionPatient, h.ipp, 3) && finite(h.ipp, 3);
    h.hasGeometry = h.hasIop && h.hasIpp;
    h.hasPixelSpacing = detail::getDoubles(d, DCM_PixelSpacing, h.pixelSpacing, 2) &&
                        finite(h.pixelSpacing, 2) && h.pixelSpacing[0] > 0 &&
                        h.pixelSpacing[1] > 0;
    if (!h.hasPixelSpacing) h.pixelSpacing[0] = h.pixelSpacing[1] = 1.0;
    Float64 f = 0;
    if (d.findAndGetFloat64(DCM_WindowCenter, f).good()) h.windowCenter = f;
    if (d.findAndGetFloat64(DCM_WindowWidth, f).good()) h.windowWidth = f;

    DcmItem* shared = nullptr;
    if (d.findAndGetSequenceItem(DCM_SharedFunctionalGroupsSequence, shared, 0).bad())
        shared = nullptr;
    DcmSequenceOfItems* perFrameSeq = nullptr;
    if (d.findAndGetSequence(DCM_PerFrameFunctionalGroupsSequence, perFrameSeq).bad())
        perFrameSeq = nullptr;
    const bool enhanced = shared || perFrameSeq;
    for (int k = 0; k < h.framesInFile; ++k) {
        SliceHeader fh = h;
        fh.frame = k;
        if (enhanced) {
            DcmItem* perFrame = nullptr;
            if (perFrameSeq && static_cast<unsigned long>(k) < perFrameSeq->card())
                perFrame = perFrameSeq->getItem(static_cast<unsigned long>(k));
            applyFunctionalGroups(perFrame, shared, fh);
        } else if (h.framesInFile > 1) {
            fh.hasGeometry = false; // classic multi-frame without per-frame positions
        }
        out.frames.push_back(std::move(fh));
    }
    return out;
}

/// ReferencedFileID components are ISO 9660 names; copies on Linux disks are often lower case.
std::optional<fs::path> resolveReferencedFile(const fs::path& root, const std::string& id) {
    fs::path exact = root, lenient = root;
    bool lenientOk = true;
    std::size_t start = 0;
    while (start <= id.size()) {
        std::size_t end = id.find('\\', start);
        if (end == std::string::npos) end = id.size();
        std::string part = id.substr(start, end - start);
        start = end + 1;
        if (part.empty() || part == "." || part == "..") {
            if (end == id.size()) break;
            continue;
        }
        exact /= part;
        if (lenientOk) {
            std::error_code ec;
            fs::path found;
            if (fs::exists(lenient / part, ec)) {
                found = lenient / part;
            } else {
                for (auto it = fs::directory_iterator(lenient, ec);
                     !ec && it != fs::directory_iterator(); it.increment(ec)) {
                    std::string name = it->path().filename().string();
                    if (name.size() == part.size() &&
                        std::equal(name.begin(), name.end(), part.begin(), [](char a, char b) {
                            return std::toupper(static_cast<unsigned char>(a)) ==
                                   std::toupper(static_cast<unsigned char>(b));
                        })) {
                        found = it->path();
                        break;
                    }
                }
            }
            if (found.empty()) lenientOk = false;
            else lenient = found;
        }
        if (end == id.size()) break;
    }
    std::error_code ec;
    if (fs::is_regular_file(exact, ec)) return exact;
    if (lenientOk && fs::is_regular_file(lenient, ec)) return lenient;
    return std::nullopt;
}

/// Files referenced by a DICOMDIR's directory records; nullopt when `file` is no DICOMDIR.
std::optional<std::vector<fs::path>> readDicomDir(const fs::path& file,
                                                  std::vector<std::string>& warnings) {
    DcmFileFormat ff;
    if (ff.loadFile(file.c_str()).bad()) return std::nullopt;
    if (detail::getString(*ff.getMetaInfo(), DCM_MediaStorageSOPClassUID) !=
        UID_MediaStorageDirectoryStorage)
        return std::nullopt;
    std::vector<fs::path> files;
    std::set<fs::path> seen;
    DcmSequenceOfItems* records = nullptr;
    if (ff.getDataset()->findAndGetSequence(DCM_DirectoryRecordSequence, records).bad() || !records)
        return files;
    const fs::path root = file.parent_path();
    for (unsigned long i = 0; i < records->card(); ++i) {
        DcmItem* rec = records->getItem(i);
        if (!rec) continue;
        OFString id;
        if (rec->findAndGetOFStringArray(DCM_ReferencedFileID, id).bad() || id.empty()) continue;
        auto path = resolveReferencedFile(root, id.c_str());
        if (!path) {
            warnings.push_back(fmt::format("{}: references {}, which does not exist",
                                           file.string(), id.c_str()));
            continue;
        }
        if (seen.insert(*path).second) files.push_back(*path);
    }
    return files;
}

std::vector<fs::path> listFiles(const fs::path& path, std::vector<std::string>& warnings) {
    std::vector<fs::path> files;
    std::error_code ec;
    if (fs::is_regular_file(path, ec)) {
        if (auto referenced = readDicomDir(path, warnings)) return *referenced;
        files.push_back(path);
        return files;
    }
    for (auto it = fs::recursive_directory_iterator(
             path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        if (it->is_regular_file(ec)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    return files;
}

glm::dvec3 vec(const double* p) { return {p[0], p[1], p[2]}; }

/// Stack key: slices only form one volume when orientation, matrix and spacing agree.
std::string geometryKey(const SliceHeader& h) {
    auto r = [](double x) { return std::lround(std::clamp(x, -1e9, 1e9) * 1e4); };
    return fmt::format("{}x{}|{},{},{},{},{},{}|{},{}", h.cols, h.rows, r(h.iop[0]), r(h.iop[1]),
                       r(h.iop[2]), r(h.iop[3]), r(h.iop[4]), r(h.iop[5]),
                       r(h.pixelSpacing[0]), r(h.pixelSpacing[1]));
}

/// Series key: patient, study, series (or the folder when the Series Instance UID is empty).
std::string seriesKey(const SliceHeader& h) {
    std::string uid =
        h.seriesUid.empty() ? "(no uid) " + h.file.parent_path().string() : h.seriesUid;
    return h.patientId + "|" + h.studyUid + "|" + uid;
}

bool isLocalizer(const SliceHeader& h) {
    return h.imageType.find("LOCALIZER") != std::string::npos;
}

struct Headers {
    std::vector<SliceHeader> frames;
    std::vector<SliceHeader> objects;
    std::vector<std::string> skipped; // "file: why"
};

} // namespace

struct SeriesScanCache {
    std::vector<fs::path> files;
    std::vector<SliceHeader> frames; // every image frame of those files
};

namespace {

Result<Headers> readHeaders(const std::vector<fs::path>& files, const Progress& progress,
                            double progressScale) {
    std::vector<FileHeaders> perFile(files.size());
    std::atomic<std::size_t> done{0};
    std::atomic<bool> cancelled{progress.cancelled()};
    parallelFor(0, files.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t i = b; i < e && !cancelled; ++i) {
            perFile[i] = loadHeader(files[i]);
            std::size_t n = ++done;
            if (n % 16 == 0 || n == files.size())
                progress.report(progressScale * double(n) / double(files.size()),
                                "reading headers");
            if (progress.cancelled()) cancelled = true;
        }
    });
    if (cancelled) return fail(ErrorCode::Cancelled, "import cancelled");
    Headers out;
    for (auto& f : perFile) {
        for (auto& h : f.frames) out.frames.push_back(std::move(h));
        if (f.object) out.objects.push_back(std::move(*f.object));
        if (!f.whyNot.empty()) out.skipped.push_back(std::move(f.whyNot));
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Pixels

/// How stored values sit in their container and what happens to them.
struct PixelRules {
    int bitsStored = 16;
    int highBit = 15;
    bool isSigned = false;
    double slope = 1, intercept = 0;
    bool hasPadding = false;
    std::int64_t padLo = 0, padHi = 0; // inclusive, stored-value space
    std::int16_t airValue = kCtAirHu;
};

struct DecodeStats {
    std::size_t clamped = 0;
    std::size_t padded = 0;
    bool signMismatch = false;
    std::string paddingText; // e.g. "-2000" or "-2000..-1000"
};

/// Converts one frame's raw container values into calibrated int16 in `dst`.
template <class Raw>
void convertFrame(const Raw* src, std::size_t n, const PixelRules& r, std::int16_t* dst,
                  DecodeStats& stats);

/// 8- and 16-bit containers: every possible raw value is converted once into a table, then each
/// pixel is a table look-up (the per-pixel masking, sign extension, padding test and rescale cost
/// more than the file read itself).
template <class Raw>
    requires(sizeof(Raw) <= 2)
void convertFrameByTable(const Raw* src, std::size_t n, const PixelRules& r, std::int16_t* dst,
                         DecodeStats& stats) {
    constexpr std::size_t kValues = std::size_t(1) << (8 * sizeof(Raw));
    // Commonest case first: slope 1, an integer intercept, no padding. Two vectorisable passes
    // (range of the stored values, then value + intercept) when nothing can leave int16.
    if (r.slope == 1.0 && r.intercept == std::floor(r.intercept) && !r.hasPadding &&
        std::abs(r.intercept) < 65536.0 && r.bitsStored >= 1 && r.bitsStored <= 16) {
        const int shift = std::max(0, r.highBit + 1 - r.bitsStored);
        const std::uint32_t mask = (1u << r.bitsStored) - 1u;
        const int up = 32 - r.bitsStored; // sign extension by shifting up and back
        const std::int32_t icpt = static_cast<std::int32_t>(r.intercept);
        // Separate loops per signedness: branch-free bodies the compiler vectorises.
        auto run = [&](auto storedOf) {
            std::int32_t lo = INT32_MAX, hi = INT32_MIN;
            for (std::size_t i = 0; i < n; ++i) {
                const std::int32_t v = storedOf(src[i]);
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
            if (n != 0 && (lo + icpt < -32768 || hi + icpt > 32767)) return false;
            for (std::size_t i = 0; i < n; ++i)
                dst[i] = static_cast<std::int16_t>(storedOf(src[i]) + icpt);
            return true;
        };
        auto signedOf = [=](Raw raw) {
            return std::int32_t(((std::uint32_t(raw) >> shift) & mask) << up) >> up;
        };
        auto unsignedOf = [=](Raw raw) { return std::int32_t((std::uint32_t(raw) >> shift) & mask); };
        if (r.isSigned ? run(signedOf) : run(unsignedOf)) return;
    }
    // The rules rarely change between the files of a series: keep the last table per thread.
    // Each entry holds the output value in its low 16 bits, and "padded" (bit 16) and "clamped"
    // (bit 17), so one look-up per pixel gives both the value and the counts.
    struct Cache {
        PixelRules rules;
        bool valid = false;
        std::vector<std::uint32_t> table = std::vector<std::uint32_t>(kValues);
    };
    thread_local Cache cache;
    auto same = [](const PixelRules& a, const PixelRules& b) {
        return a.bitsStored == b.bitsStored && a.highBit == b.highBit && a.isSigned == b.isSigned &&
               a.slope == b.slope && a.intercept == b.intercept && a.hasPadding == b.hasPadding &&
               a.padLo == b.padLo && a.padHi == b.padHi && a.airValue == b.airValue;
    };
    if (!cache.valid || !same(cache.rules, r)) {
        for (std::size_t v = 0; v < kValues; ++v) {
            const Raw raw = static_cast<Raw>(v);
            DecodeStats one;
            std::int16_t out = 0;
            convertFrame(&raw, 1, r, &out, one);
            cache.table[v] = std::uint32_t(std::uint16_t(out)) | (one.padded ? 1u << 16 : 0u) |
                             (one.clamped ? 1u << 17 : 0u);
        }
        cache.rules = r;
        cache.valid = true;
    }
    const std::uint32_t* table = cache.table.data();
    std::size_t padded = 0, clamped = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t e = table[src[i]];
        dst[i] = static_cast<std::int16_t>(std::uint16_t(e));
        padded += (e >> 16) & 1u;
        clamped += (e >> 17) & 1u;
    }
    stats.padded += padded;
    stats.clamped += clamped;
}

template <class Raw>
void convertFrame(const Raw* src, std::size_t n, const PixelRules& r, std::int16_t* dst,
                  DecodeStats& stats) {
    const int shift = std::max(0, r.highBit + 1 - r.bitsStored);
    const std::uint32_t mask = r.bitsStored >= 32 ? 0xffffffffu : ((1u << r.bitsStored) - 1u);
    const std::uint32_t signBit = 1u << (r.bitsStored - 1);
    const std::int64_t wrap = std::int64_t(1) << r.bitsStored;
    std::size_t clamped = 0, padded = 0;
    for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t u = (static_cast<std::uint32_t>(src[i]) >> shift) & mask;
        std::int64_t stored = (r.isSigned && (u & signBit)) ? std::int64_t(u) - wrap : u;
        if (r.hasPadding && stored >= r.padLo && stored <= r.padHi) {
            dst[i] = r.airValue;
            ++padded;
            continue;
        }
        double value = std::nearbyint(double(stored) * r.slope + r.intercept);
        if (!(value >= -32768.0 && value <= 32767.0)) {
            ++clamped;
            value = std::isnan(value) ? 0.0 : std::clamp(value, -32768.0, 32767.0);
        }
        dst[i] = static_cast<std::int16_t>(value);
    }
    stats.clamped += clamped;
    stats.padded += padded;
}

/// Where a frame's decoded values go.
struct FrameTarget {
    int frame = 0;
    std::int16_t* dst = nullptr;
    bool hasRescale = false; // from functional groups; else the file's top-level rescale
    double slope = 1, intercept = 0;
};

bool isJpeg2000(E_TransferSyntax x) { return x == EXS_JPEG2000LosslessOnly || x == EXS_JPEG2000; }

std::uint32_t readLe32(const Uint8* p) {
    return std::uint32_t(p[0]) | std::uint32_t(p[1]) << 8 | std::uint32_t(p[2]) << 16 |
           std::uint32_t(p[3]) << 24;
}

struct Fragment {
    const Uint8* data = nullptr;
    std::size_t size = 0;
};

/// Splits an encapsulated pixel sequence into per-frame fragment lists: via the Basic Offset
/// Table when present, one fragment per frame when the counts match, else at codestream starts.
Result<std::vector<std::vector<Fragment>>> splitFrames(DcmPixelSequence& seq, int frames) {
    std::vector<Fragment> fragments;
    std::vector<std::uint64_t> offsets; // byte offset of each fragment's item tag after the BOT
    std::vector<std::uint32_t> bot;
    std::uint64_t offset = 0;
    for (unsigned long i = 0; i < seq.card(); ++i) {
        DcmPixelItem* item = nullptr;
        if (seq.getItem(item, i).bad() || !item) continue;
        Uint8* p = nullptr;
        const Uint32 len = item->getLength();
        if (len > 0 && (item->getUint8Array(p).bad() || !p))
            return fail(ErrorCode::ParseError, "encapsulated pixel data item is unreadable");
        if (i == 0) {
            for (Uint32 k = 0; k + 4 <= len; k += 4) bot.push_back(readLe32(p + k));
            continue;
        }
        fragments.push_back({p, len});
        offsets.push_back(offset);
        offset += 8 + std::uint64_t(len);
    }
    if (fragments.empty()) return fail(ErrorCode::ParseError, "no encapsulated pixel data fragments");
    std::vector<std::vector<Fragment>> out(static_cast<std::size_t>(frames));
    if (frames == 1) {
        out[0] = fragments;
        return out;
    }
    if (bot.size() == static_cast<std::size_t>(frames) && bot[0] == 0 &&
        std::is_sorted(bot.begin(), bot.end())) {
        for (std::size_t j = 0; j < fragments.size(); ++j) {
            auto it = std::upper_bound(bot.begin(), bot.end(), offsets[j]);
            out[static_cast<std::size_t>(it - bot.begin()) - 1].push_back(fragments[j]);
        }
    } else if (fragments.size() == static_cast<std::size_t>(frames)) {
        for (std::size_t j = 0; j < fragments.size(); ++j) out[j].push_back(fragments[j]);
    } else {
        int f = -1;
        for (const auto& frag : fragments) {
            if (detail::looksLikeJpeg2000(frag.data, frag.size)) ++f;
            if (f < 0 || f >= frames)
                return fail(ErrorCode::ParseError, "cannot tell which fragments form which frame");
            out[static_cast<std::size_t>(f)].push_back(frag);
        }
    }
    for (const auto& frame : out)
        if (frame.empty())
            return fail(ErrorCode::ParseError,
                        fmt::format("{} frames declared but the fragments do not match", frames));
    return out;
}

/// Fast path for the commonest files (uncompressed little endian, 16 bits, one frame, Pixel Data
/// the last element): DCMTK already parsed the header while scanning; here the pixel bytes are
/// read straight into a buffer after checking that the file ends with exactly the Pixel Data
/// element the header promised (tag, VR and length). Returns false, touching nothing, when the
/// file is laid out any other way: the caller then lets DCMTK parse it.
bool readNativePixels(const fs::path& file, const SliceHeader& h, int cols, int rows, bool isCt,
                      const FrameTarget& target, DecodeStats& stats) {
    const std::size_t payload = std::size_t(cols) * std::size_t(rows) * 2;
    const bool explicitVr = h.xfer == EXS_LittleEndianExplicit;
    const std::size_t headerLen = explicitVr ? 12 : 8;
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    struct stat st {};
    bool ok = ::fstat(fd, &st) == 0 && std::size_t(st.st_size) >= payload + headerLen + 132;
    std::uint8_t head[12] = {};
    const off_t at = ok ? off_t(std::size_t(st.st_size) - payload - headerLen) : 0;
    ok = ok && ::pread(fd, head, headerLen, at) == ssize_t(headerLen) && head[0] == 0xE0 &&
         head[1] == 0x7F && head[2] == 0x10 && head[3] == 0x00;
    if (ok) {
        const std::uint8_t* len = head + (explicitVr ? 8 : 4);
        if (explicitVr)
            ok = ((head[4] == 'O' && (head[5] == 'W' || head[5] == 'B')) && head[6] == 0 &&
                  head[7] == 0);
        ok = ok && readLe32(len) == payload;
    }
    thread_local std::vector<std::uint16_t> buffer;
    if (ok) {
        buffer.resize(payload / 2);
        std::size_t got = 0;
        while (got < payload) {
            ssize_t n = ::pread(fd, reinterpret_cast<char*>(buffer.data()) + got, payload - got,
                                at + off_t(headerLen + got));
            if (n <= 0) break;
            got += std::size_t(n);
        }
        ok = got == payload;
    }
    ::close(fd);
    if (!ok) return false;
    PixelRules r;
    r.bitsStored = h.bitsStored;
    r.highBit = h.highBit;
    r.isSigned = h.pixelSigned;
    r.slope = target.hasRescale ? target.slope : h.topSlope;
    r.intercept = target.hasRescale ? target.intercept : h.topIntercept;
    r.airValue = isCt ? kCtAirHu : 0;
    convertFrameByTable(buffer.data(), payload / 2, r, target.dst, stats);
    return true;
}

/// Decodes the frames of one file into their slots of the pre-allocated volume. The decoded
/// dataset lives only for this call.
Result<DecodeStats> decodeFile(const fs::path& file, int cols, int rows, bool isCt,
                               const std::vector<FrameTarget>& targets,
                               const SliceHeader* header = nullptr) {
    if (header && header->nativeFastPath && targets.size() == 1 && targets[0].frame == 0) {
        DecodeStats fast;
        if (readNativePixels(file, *header, cols, rows, isCt, targets[0], fast)) return fast;
    }
    DcmFileFormat ff;
    OFCondition c = ff.loadFile(file.c_str(), EXS_Unknown, EGL_noChange, DCM_MaxReadLength,
                                ERM_autoDetect);
    if (c.bad())
        return fail(ErrorCode::ParseError, fmt::format("{}: cannot read DICOM file", file.string()),
                    c.text());
    DcmDataset& d = *ff.getDataset();
    const E_TransferSyntax xfer = d.getOriginalXfer();
    DcmXfer xferInfo(xfer);
    auto unsupported = [&](const std::string& why) {
        return fail(ErrorCode::UnsupportedEncoding,
                    fmt::format("{}: unsupported encoding {} ({}): no decoder for this transfer "
                                "syntax",
                                file.string(), xferInfo.getXferName(), xferInfo.getXferID()),
                    why);
    };
    Uint16 bitsAllocated = 0, bitsStored = 0, highBit = 0, pixelRep = 0, samples = 1;
    Uint16 fileRows = 0, fileCols = 0;
    d.findAndGetUint16(DCM_BitsAllocated, bitsAllocated);
    if (d.findAndGetUint16(DCM_BitsStored, bitsStored).bad()) bitsStored = bitsAllocated;
    if (d.findAndGetUint16(DCM_HighBit, highBit).bad()) highBit = bitsStored - 1;
    d.findAndGetUint16(DCM_PixelRepresentation, pixelRep);
    d.findAndGetUint16(DCM_SamplesPerPixel, samples);
    d.findAndGetUint16(DCM_Rows, fileRows);
    d.findAndGetUint16(DCM_Columns, fileCols);
    Sint32 frames = 1;
    if (d.findAndGetSint32(DCM_NumberOfFrames, frames).bad() || frames < 1) frames = 1;
    if (fileRows != rows || fileCols != cols)
        return fail(ErrorCode::ParseError,
                    fmt::format("{}: the file changed while loading ({}x{} pixels, {}x{} expected)",
                                file.string(), fileCols, fileRows, cols, rows));
    for (const auto& t : targets)
        if (t.frame >= frames)
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: frame {} missing ({} frames)", file.string(), t.frame + 1,
                                    frames));
    if (samples != 1)
        return fail(ErrorCode::Unsupported,
                    fmt::format("{}: colour images ({} samples per pixel) cannot be planned on",
                                file.string(), samples));
    if ((bitsAllocated != 8 && bitsAllocated != 16) || bitsStored == 0 ||
        bitsStored > bitsAllocated || highBit >= bitsAllocated || highBit + 1 < bitsStored)
        return fail(ErrorCode::ParseError,
                    fmt::format("{}: unsupported pixel layout (BitsAllocated {}, BitsStored {}, "
                                "HighBit {})",
                                file.string(), bitsAllocated, bitsStored, highBit));
    PixelRules rules;
    rules.bitsStored = bitsStored;
    rules.highBit = highBit;
    rules.isSigned = pixelRep == 1;
    rules.airValue = isCt ? kCtAirHu : 0;
    Float64 topSlope = 1, topIntercept = 0;
    if (d.findAndGetFloat64(DCM_RescaleSlope, topSlope).bad() || topSlope == 0 ||
        !std::isfinite(topSlope))
        topSlope = 1;
    if (d.findAndGetFloat64(DCM_RescaleIntercept, topIntercept).bad() ||
        !std::isfinite(topIntercept))
        topIntercept = 0;

    DecodeStats stats;
    // Pixel Padding Value (and Range Limit) are in stored-value space; their VR (US/SS) follows
    // Pixel Representation, so read the 16 bits and interpret them the same way.
    auto paddingValue = [&](const DcmTagKey& tag, std::int64_t& out) {
        DcmElement* e = nullptr;
        if (d.findAndGetElement(tag, e).bad() || !e || e->getLength() < 2) return false;
        Uint16 u = 0;
        Sint16 s = 0;
        if (e->getUint16(u).good()) out = rules.isSigned ? std::int64_t(std::int16_t(u)) : u;
        else if (e->getSint16(s).good()) out = rules.isSigned ? std::int64_t(s) : std::uint16_t(s);
        else return false;
        return true;
    };
    std::int64_t pad = 0, limit = 0;
    if (paddingValue(DCM_PixelPaddingValue, pad)) {
        rules.hasPadding = true;
        rules.padLo = rules.padHi = pad;
        stats.paddingText = std::to_string(pad);
        if (paddingValue(DCM_PixelPaddingRangeLimit, limit)) {
            rules.padLo = std::min(pad, limit);
            rules.padHi = std::max(pad, limit);
            stats.paddingText = fmt::format("{}..{}", rules.padLo, rules.padHi);
        }
    }

    DcmElement* pixelData = nullptr;
    if (d.findAndGetElement(DCM_PixelData, pixelData).bad() || !pixelData)
        return fail(ErrorCode::ParseError, fmt::format("{}: no pixel data", file.string()));
    const std::size_t n = static_cast<std::size_t>(cols) * static_cast<std::size_t>(rows);
    auto rulesFor = [&](const FrameTarget& t) {
        PixelRules r = rules;
        r.slope = t.hasRescale ? t.slope : topSlope;
        r.intercept = t.hasRescale ? t.intercept : topIntercept;
        return r;
    };

    if (isJpeg2000(xfer)) {
        auto* pd = dynamic_cast<DcmPixelData*>(pixelData);
        DcmPixelSequence* seq = nullptr;
        if (!pd || pd->getEncapsulatedRepresentation(xfer, nullptr, seq).bad() || !seq)
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: encapsulated JPEG 2000 pixel data is unreadable",
                                    file.string()));
        auto split = splitFrames(*seq, frames);
        if (!split)
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: JPEG 2000 pixel data: {}", file.string(),
                                    split.error().message));
        std::vector<std::uint8_t> joined;
        for (const auto& t : targets) {
            const auto& frags = (*split)[static_cast<std::size_t>(t.frame)];
            const std::uint8_t* bytes = frags[0].data;
            std::size_t size = frags[0].size;
            if (frags.size() > 1) {
                joined.clear();
                for (const auto& f : frags) joined.insert(joined.end(), f.data, f.data + f.size);
                bytes = joined.data();
                size = joined.size();
            }
            auto img = detail::decodeJpeg2000(bytes, size);
            if (!img)
                return fail(ErrorCode::ParseError,
                            fmt::format("{}: {} (frame {})", file.string(), img.error().message,
                                        t.frame + 1),
                            img.error().detail);
            if (img->components != 1)
                return fail(ErrorCode::Unsupported,
                            fmt::format("{}: colour images ({} components) cannot be planned on",
                                        file.string(), img->components));
            if (img->width != cols || img->height != rows || img->precision < 1 ||
                img->precision > 16)
                return fail(ErrorCode::ParseError,
                            fmt::format("{}: JPEG 2000 frame is {}x{} with {} bits; the header "
                                        "says {}x{} with {} bits stored",
                                        file.string(), img->width, img->height, img->precision,
                                        cols, rows, bitsStored));
            // The codestream's own precision and sign decide the bit pattern; Pixel
            // Representation decides how it is read (pydicom/GDCM do the same for files whose
            // J2K says unsigned while the header says signed).
            if (img->isSigned != rules.isSigned) stats.signMismatch = true;
            PixelRules r = rulesFor(t);
            r.bitsStored = img->precision;
            r.highBit = img->precision - 1;
            const std::uint32_t mask =
                img->precision >= 32 ? 0xffffffffu : ((1u << img->precision) - 1u);
            for (auto& s : img->samples) s = static_cast<std::int32_t>(std::uint32_t(s) & mask);
            convertFrame(reinterpret_cast<const std::uint32_t*>(img->samples.data()), n, r, t.dst,
                         stats);
        }
        return stats;
    }
    if (xferInfo.isEncapsulated()) {
        if (!DcmCodecList::canChangeCoding(xfer, EXS_LittleEndianExplicit))
            return unsupported("no registered codec");
        c = d.chooseRepresentation(EXS_LittleEndianExplicit, nullptr);
        if (c.bad() || !d.canWriteXfer(EXS_LittleEndianExplicit))
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: compressed pixel data ({}) could not be decoded",
                                    file.string(), xferInfo.getXferName()),
                        c.text());
        if (d.findAndGetElement(DCM_PixelData, pixelData).bad() || !pixelData)
            return fail(ErrorCode::ParseError, fmt::format("{}: no pixel data", file.string()));
    }
    const std::size_t bytesPerSample = bitsAllocated / 8;
    auto truncated = [&] {
        return fail(ErrorCode::ParseError,
                    fmt::format("{}: pixel data is truncated ({} bytes for {} frame(s) of {}x{} "
                                "pixels)",
                                file.string(), pixelData->getLength(), frames, cols, rows));
    };
    for (const auto& t : targets)
        if (pixelData->getLength() < (static_cast<std::size_t>(t.frame) + 1) * n * bytesPerSample)
            return truncated();
    if (bitsAllocated == 16) {
        Uint16* p = nullptr;
        if (pixelData->getUint16Array(p).bad() || !p) return truncated();
        for (const auto& t : targets)
            convertFrameByTable(p + static_cast<std::size_t>(t.frame) * n, n, rulesFor(t), t.dst,
                                stats);
    } else {
        Uint8* p = nullptr;
        if (pixelData->getUint8Array(p).bad() || !p) return truncated();
        for (const auto& t : targets)
            convertFrame(p + static_cast<std::size_t>(t.frame) * n, n, rulesFor(t), t.dst, stats);
    }
    return stats;
}

// ---------------------------------------------------------------------------------------------
// Resampling (only when LoadOptions asks)

/// Bilinear sample of slice `src` (cols x rows) at continuous pixel (x, y); nullopt outside.
std::optional<double> sampleSlice(const std::int16_t* src, int cols, int rows, double x, double y) {
    if (!(x >= -1e-6 && y >= -1e-6 && x <= cols - 1 + 1e-6 && y <= rows - 1 + 1e-6))
        return std::nullopt;
    int x0 = std::clamp(static_cast<int>(std::floor(x)), 0, std::max(0, cols - 2));
    int y0 = std::clamp(static_cast<int>(std::floor(y)), 0, std::max(0, rows - 2));
    int x1 = std::min(x0 + 1, cols - 1), y1 = std::min(y0 + 1, rows - 1);
    double fx = std::clamp(x - x0, 0.0, 1.0), fy = std::clamp(y - y0, 0.0, 1.0);
    auto at = [&](int i, int j) { return double(src[static_cast<std::size_t>(j) * cols + i]); };
    return (at(x0, y0) * (1 - fx) + at(x1, y0) * fx) * (1 - fy) +
           (at(x0, y1) * (1 - fx) + at(x1, y1) * fx) * fy;
}

} // namespace

Result<std::vector<SeriesSummary>> scanSeries(const fs::path& path, const Progress& progress) {
    std::error_code ec;
    if (!fs::exists(path, ec))
        return fail(ErrorCode::NotFound, fmt::format("{}: no such file or folder", path.string()));
    detail::registerCodecs();
    std::vector<std::string> listWarnings;
    auto files = listFiles(path, listWarnings);
    auto headers = readHeaders(files, progress, 0.2);
    if (!headers) return std::unexpected(headers.error());
    std::vector<std::string> skipped = listWarnings;
    skipped.insert(skipped.end(), headers->skipped.begin(), headers->skipped.end());

    struct Group {
        SeriesSummary summary;
        std::vector<const SliceHeader*> frames;
        std::set<fs::path> files;
    };
    auto describe = [](SeriesSummary& s, const SliceHeader& h) {
        s.seriesInstanceUid = h.seriesUid;
        s.studyInstanceUid = h.studyUid;
        s.modality = h.modality;
        s.description = h.description;
        s.patientName = h.patientName;
        s.seriesDate = h.seriesDate;
        s.patientId = h.patientId;
        s.studyDescription = h.studyDescription;
        s.studyDate = h.studyDate;
        s.seriesNumber = h.seriesNumber;
        s.sopClassUid = h.sopClassUid;
        s.kind = h.kind;
    };
    std::map<std::string, Group> images, objects;
    for (const auto& h : headers->frames) {
        auto& g = images[seriesKey(h) + "|" + geometryKey(h)];
        if (g.frames.empty()) describe(g.summary, h);
        g.frames.push_back(&h);
        if (g.files.insert(h.file).second) g.summary.files.push_back(h.file);
    }
    for (const auto& h : headers->objects) {
        auto& g = objects[h.kind + "|" + seriesKey(h)];
        if (g.summary.files.empty()) describe(g.summary, h);
        g.summary.files.push_back(h.file);
    }
    std::map<fs::path, std::vector<const SliceHeader*>> framesByFile;
    for (const auto& h : headers->frames) framesByFile[h.file].push_back(&h);
    std::vector<SeriesSummary> out, others;
    for (auto& [key, g] : images) {
        auto& s = g.summary;
        auto cache = std::make_shared<SeriesScanCache>();
        cache->files = s.files;
        for (const auto& f : s.files)
            for (const SliceHeader* h : framesByFile[f]) cache->frames.push_back(*h);
        s.scanCache = std::move(cache);
        s.imageCount = static_cast<int>(g.frames.size());
        // Thumbnail: the middle slice along the normal, localisers aside when possible.
        std::vector<const SliceHeader*> stack;
        for (const auto* h : g.frames)
            if (!isLocalizer(*h)) stack.push_back(h);
        if (stack.empty()) stack = g.frames;
        glm::dvec3 n = glm::cross(vec(stack.front()->iop), vec(stack.front()->iop + 3));
        std::stable_sort(stack.begin(), stack.end(), [&](const auto* a, const auto* b) {
            return glm::dot(vec(a->ipp), n) < glm::dot(vec(b->ipp), n);
        });
        const SliceHeader* mid = stack[stack.size() / 2];
        s.thumbnailFile = mid->file;
        s.thumbnailFrame = mid->frame;
        s.scanWarnings = skipped;
        out.push_back(std::move(s));
    }
    for (auto& [key, g] : objects) {
        g.summary.imageCount = 0;
        g.summary.scanWarnings = skipped;
        others.push_back(std::move(g.summary));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const auto& a, const auto& b) { return a.imageCount > b.imageCount; });
    out.insert(out.end(), std::make_move_iterator(others.begin()),
               std::make_move_iterator(others.end()));
    if (out.empty())
        return fail(ErrorCode::NotFound,
                    fmt::format("{}: no DICOM image series found ({} files looked at{})",
                                path.string(), files.size(),
                                skipped.empty() ? std::string()
                                                : "; first problem: " + skipped.front()));
    return out;
}

Result<LoadedSeries> loadSeries(const SeriesSummary& series, const Progress& progress) {
    return loadSeries(series, LoadOptions{}, progress);
}

Result<LoadedSeries> loadSeries(const SeriesSummary& series, const LoadOptions& options,
                                const Progress& progress) {
    detail::registerCodecs();
    const std::string firstFile =
        series.files.empty() ? std::string("series") : series.files.front().string();
    if (!series.isImage())
        return fail(ErrorCode::Unsupported,
                    fmt::format("{}: a {} object (SOP class {}), not an image series; it is listed "
                                "but cannot be loaded as a volume",
                                firstFile, series.kind, series.sopClassUid));
    LoadedSeries out;
    auto& report = out.report;
    Result<Headers> headersOr = Headers{};
    if (series.scanCache && series.scanCache->files == series.files)
        headersOr->frames = series.scanCache->frames;
    else
        headersOr = readHeaders(series.files, progress, 0.2);
    if (!headersOr) return std::unexpected(headersOr.error());
    for (const auto& why : headersOr->skipped)
        report.add("unreadable-file", why + "; left out", {why.substr(0, why.find(": "))});
    for (const auto& h : headersOr->frames) {
        // A transfer syntax DCMTK does not even know (HTJ2K in 3.6.7) cannot be decoded here.
        if (!h.metaXferUid.empty() && DcmXfer(h.metaXferUid.c_str()).getXfer() == EXS_Unknown)
            return fail(ErrorCode::UnsupportedEncoding,
                        fmt::format("{}: unsupported encoding {}: no decoder for this transfer "
                                    "syntax is available",
                                    h.file.string(), h.metaXferUid));
        DcmXfer x(h.xfer);
        if (x.isEncapsulated() && !isJpeg2000(h.xfer) &&
            !DcmCodecList::canChangeCoding(h.xfer, EXS_LittleEndianExplicit))
            return fail(ErrorCode::UnsupportedEncoding,
                        fmt::format("{}: unsupported encoding {} ({}): no decoder for this "
                                    "transfer syntax is available",
                                    h.file.string(), x.getXferName(), x.getXferID()));
    }
    // Keep the largest stack; localisers and images that cannot be placed in 3D are left out.
    std::map<std::string, std::vector<SliceHeader>> stacks;
    std::set<std::string> noGeometryFiles;
    for (auto& h : headersOr->frames) {
        if (isLocalizer(h)) {
            if (h.frame == 0)
                report.add("localizer-excluded",
                           "a localizer/scout image was left out of the volume", {h.file.string()});
            continue;
        }
        if (!h.hasGeometry) {
            if (noGeometryFiles.insert(h.file.string()).second)
                report.add("no-geometry",
                           h.framesInFile > 1
                               ? "multi-frame image without per-frame Image Position (Patient); "
                                 "its frames cannot be placed in 3D and were left out"
                               : "image has no Image Position/Orientation (Patient) and was left "
                                 "out",
                           {h.file.string()});
            continue;
        }
        stacks[geometryKey(h)].push_back(std::move(h));
    }
    if (stacks.empty())
        return fail(ErrorCode::NotFound,
                    fmt::format("{}: no image with Image Position/Orientation (Patient), so nothing "
                                "can be placed in 3D",
                                firstFile));
    auto largest = std::max_element(stacks.begin(), stacks.end(), [](const auto& a, const auto& b) {
        return a.second.size() < b.second.size();
    });
    std::vector<SliceHeader> headers = std::move(largest->second);
    for (const auto& [key, other] : stacks) {
        if (key == largest->first) continue;
        std::vector<std::string> files;
        for (const auto& h : other)
            if (files.empty() || files.back() != h.file.string()) files.push_back(h.file.string());
        report.add("mixed-stack-excluded",
                   fmt::format("{} image(s) with a different orientation, matrix or pixel spacing "
                               "were left out",
                               other.size()),
                   files);
    }
    const SliceHeader& first = headers.front();

    glm::dvec3 rowDir = vec(first.iop), colDir = vec(first.iop + 3);
    glm::dvec3 normal = glm::cross(rowDir, colDir);
    if (glm::length(rowDir) < 1e-6 || glm::length(colDir) < 1e-6 || glm::length(normal) < 1e-6)
        return fail(ErrorCode::ParseError,
                    fmt::format("{}: Image Orientation (Patient) is degenerate (parallel or zero "
                                "cosines)",
                                first.file.string()));
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
    bool irregular = false;
    double tiltDeg = 0.0;
    if (slices > 1) {
        std::vector<double> gaps;
        for (int k = 1; k < slices; ++k)
            gaps.push_back(glm::dot(vec(headers[k].ipp) - vec(headers[k - 1].ipp), normal));
        std::vector<double> sorted = gaps;
        std::nth_element(sorted.begin(), sorted.begin() + sorted.size() / 2, sorted.end());
        sliceSpacing = sorted[sorted.size() / 2];
        const bool willResample = options.resampleToUniform && sliceSpacing > 1e-3;
        double lo = *std::min_element(gaps.begin(), gaps.end());
        double hi = *std::max_element(gaps.begin(), gaps.end());
        for (int k = 1; k < slices; ++k) {
            double g = gaps[k - 1];
            if (g < 1e-3)
                report.add("duplicate-position",
                           fmt::format("two slices share position {:.3f} mm{}",
                                       glm::dot(vec(headers[k].ipp), normal),
                                       willResample ? "; the first was used" : ""),
                           {headers[k - 1].file.string(), headers[k].file.string()});
            else if (g > 1.5 * sliceSpacing)
                report.add("missing-slice",
                           fmt::format("gap of {:.3f} mm where {:.3f} mm is the median: slices are "
                                       "missing; {}",
                                       g, sliceSpacing,
                                       willResample ? "the gap was filled by linear interpolation"
                                                    : "positions were assumed uniform"),
                           {headers[k - 1].file.string(), headers[k].file.string()});
        }
        if (hi - lo > 1e-3 * std::max(1.0, sliceSpacing)) {
            irregular = true;
            report.add("non-uniform-spacing",
                       fmt::format("slice spacing varies from {:.4f} to {:.4f} mm; {}", lo, hi,
                                   willResample
                                       ? "the stack was resampled to the median spacing"
                                       : fmt::format("the median {:.4f} mm was used and positions "
                                                     "were assumed uniform",
                                                     sliceSpacing)));
        }
        glm::dvec3 disp = vec(headers.back().ipp) - vec(headers.front().ipp);
        if (glm::length(disp) > 0) {
            tiltDeg = glm::degrees(
                std::acos(std::clamp(glm::dot(glm::normalize(disp), normal), -1.0, 1.0)));
            if (tiltDeg > 0.01 && !options.correctTilt)
                report.add("gantry-tilt",
                           fmt::format("the slice stack is tilted {:.2f} degrees from the slice "
                                       "normal (gantry tilt); it was not corrected",
                                       tiltDeg));
        }
        if (sliceSpacing <= 1e-3) sliceSpacing = 1.0;
    }
    if (series.seriesInstanceUid.empty() && first.seriesUid.empty())
        report.add("empty-series-uid",
                   "the files have no Series Instance UID; they were grouped by folder, matrix and "
                   "orientation");
    const bool isCt = first.modality == "CT";
    if (!isCt)
        report.add("values-not-hu",
                   fmt::format("modality {}: values are the stored values x Rescale Slope + "
                               "Intercept, for display; they are not Hounsfield units",
                               first.modality.empty() ? "unknown" : first.modality));
    std::set<std::string> multiFrameFiles, lossyFiles;
    for (const auto& h : headers) {
        if (h.framesInFile > 1) multiFrameFiles.insert(h.file.string());
        if (h.lossy) lossyFiles.insert(h.file.string());
    }
    if (!multiFrameFiles.empty())
        report.add("multi-frame",
                   fmt::format("{} slices came from {} multi-frame file(s); each frame was placed "
                               "by its own functional-group position",
                               slices, multiFrameFiles.size()),
                   {multiFrameFiles.begin(), multiFrameFiles.end()});
    if (!lossyFiles.empty())
        report.add("lossy-compression",
                   "pixel data was lossy compressed: values differ slightly from the acquisition",
                   {lossyFiles.begin(), lossyFiles.end()});

    // Acquired grid (what the files state) and, when asked, the resampled output grid.
    model::ImageGeometry acquired;
    acquired.dims = {first.cols, first.rows, slices};
    acquired.spacingMm = {first.pixelSpacing[1], first.pixelSpacing[0], sliceSpacing};
    acquired.originMm = vec(first.ipp);
    acquired.direction = glm::dmat3(rowDir, colDir, normal);
    const bool correctTilt = options.correctTilt && tiltDeg > 0.01;
    const bool resample = options.resampleToUniform && irregular;
    int outSlices = slices;
    std::vector<double> sliceZ(static_cast<std::size_t>(slices));
    for (int k = 0; k < slices; ++k)
        sliceZ[k] = glm::dot(vec(headers[k].ipp) - acquired.originMm, normal);
    if (resample) {
        double extent = sliceZ.back() - sliceZ.front();
        outSlices = static_cast<int>(std::floor(extent / sliceSpacing + 1e-6)) + 1;
    }
    model::ImageGeometry g = acquired;
    g.dims[2] = outSlices;
    const std::size_t sliceVoxels = static_cast<std::size_t>(g.dims[0]) * g.dims[1];
    if (sliceVoxels == 0 || sliceVoxels * static_cast<std::size_t>(std::max(slices, outSlices)) >
                                kMaxVoxels)
        return fail(ErrorCode::Unsupported,
                    fmt::format("{}: {}x{}x{} voxels is more than this build loads", firstFile,
                                g.dims[0], g.dims[1], std::max(slices, outSlices)));

    // Group targets per file so each file is read and decoded once, and check plausibility of
    // the sizes before allocating anything large.
    std::map<fs::path, std::vector<int>> byFile;
    for (int k = 0; k < slices; ++k) byFile[headers[k].file].push_back(k);
    for (const auto& [file, ks] : byFile) {
        const SliceHeader& h = headers[ks.front()];
        std::error_code ec;
        const auto fileBytes = fs::file_size(file, ec);
        const std::size_t need = sliceVoxels * std::max(1, h.bitsAllocated / 8) *
                                 static_cast<std::size_t>(h.framesInFile);
        // Deflated files are compressed without encapsulation.
        const bool encapsulated = DcmXfer(h.xfer).isEncapsulated() ||
                                  DcmXfer(h.xfer).getStreamCompression() != ESC_none;
        if (!ec && ((!encapsulated && fileBytes < need) ||
                    (encapsulated && need > fileBytes * 4000 + (std::size_t(64) << 20))))
            return fail(ErrorCode::ParseError,
                        fmt::format("{}: pixel data is truncated ({} bytes in the file for {} "
                                    "frame(s) of {}x{} pixels)",
                                    file.string(), fileBytes, h.framesInFile, g.dims[0],
                                    g.dims[1]));
    }

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
    const bool hasWindow = std::isfinite(first.windowCenter) && std::isfinite(first.windowWidth) &&
                           first.windowWidth > 0;
    if (hasWindow) {
        out.volume.windowCenter = first.windowCenter;
        out.volume.windowWidth = first.windowWidth;
    }

    // Decode straight into the volume; only a resampled load needs the acquired stack apart.
    std::vector<std::int16_t> acquiredVoxels;
    std::int16_t* target = out.volume.voxels.data();
    if (resample || correctTilt) {
        acquiredVoxels.resize(sliceVoxels * static_cast<std::size_t>(slices));
        target = acquiredVoxels.data();
    }
    std::vector<std::pair<fs::path, std::vector<int>>> work(byFile.begin(), byFile.end());
    std::vector<std::optional<Error>> errors(work.size());
    std::vector<DecodeStats> stats(work.size());
    std::atomic<std::size_t> done{0};
    std::atomic<bool> cancelled{progress.cancelled()};
    parallelFor(0, work.size(), [&](std::size_t b, std::size_t e) {
        for (std::size_t w = b; w < e && !cancelled; ++w) {
            std::vector<FrameTarget> targets;
            for (int k : work[w].second) {
                const SliceHeader& h = headers[k];
                targets.push_back({h.frame, target + static_cast<std::size_t>(k) * sliceVoxels,
                                   h.hasRescale, h.slope, h.intercept});
            }
            auto r = decodeFile(work[w].first, g.dims[0], g.dims[1], isCt, targets,
                                &headers[work[w].second.front()]);
            if (!r) errors[w] = r.error();
            else stats[w] = std::move(*r);
            std::size_t n = ++done;
            progress.report(0.2 + 0.75 * double(n) / double(work.size()), "decoding slices");
            if (progress.cancelled()) cancelled = true;
        }
    });
    if (cancelled) return fail(ErrorCode::Cancelled, "import cancelled");
    for (auto& e : errors)
        if (e) return std::unexpected(*e);
    std::size_t clamped = 0, padded = 0;
    std::vector<std::string> paddedFiles, mismatchFiles;
    std::string paddingText;
    for (std::size_t w = 0; w < work.size(); ++w) {
        clamped += stats[w].clamped;
        padded += stats[w].padded;
        if (stats[w].padded > 0) {
            paddedFiles.push_back(work[w].first.string());
            paddingText = stats[w].paddingText;
        }
        if (stats[w].signMismatch) mismatchFiles.push_back(work[w].first.string());
    }
    if (clamped > 0)
        report.add("values-clamped",
                   fmt::format("{} pixel values fell outside the 16-bit signed range after the "
                               "rescale and were clamped",
                               clamped));
    if (padded > 0)
        report.add("pixel-padding",
                   fmt::format("{} pixels held the Pixel Padding Value ({}, outside the scanned "
                               "field); they were set to {}",
                               padded, paddingText,
                               isCt ? fmt::format("air ({} HU)", kCtAirHu) : std::string("0")),
                   paddedFiles);
    if (!mismatchFiles.empty())
        report.add("j2k-sign-mismatch",
                   "the JPEG 2000 codestream's signedness disagrees with Pixel Representation; "
                   "the codestream's bits were read as Pixel Representation says",
                   mismatchFiles);

    if (resample || correctTilt) {
        // Output voxel (i, j, k) sits at origin + i*sx*r + j*sy*c + k*sz*n. Acquired slice s sits
        // at z_s along n, shifted in-plane by (a_s, b_s) when the stack is sheared (tilt).
        std::vector<double> shiftX(slices, 0.0), shiftY(slices, 0.0);
        if (correctTilt)
            for (int k = 0; k < slices; ++k) {
                glm::dvec3 d = vec(headers[k].ipp) - acquired.originMm;
                shiftX[k] = glm::dot(d, rowDir) / acquired.spacingMm.x;
                shiftY[k] = glm::dot(d, colDir) / acquired.spacingMm.y;
            }
        const std::int16_t air = isCt ? kCtAirHu : 0;
        std::atomic<std::size_t> outside{0};
        parallelFor(0, static_cast<std::size_t>(outSlices), [&](std::size_t b, std::size_t e) {
            std::size_t miss = 0;
            for (std::size_t k = b; k < e; ++k) {
                // Acquired slices bracketing this output slice, with the linear weight.
                int s0 = static_cast<int>(k), s1 = s0;
                double w = 0.0;
                if (resample) {
                    double z = double(k) * sliceSpacing;
                    auto it = std::lower_bound(sliceZ.begin(), sliceZ.end(), z - 1e-6);
                    s1 = std::min<int>(static_cast<int>(it - sliceZ.begin()), slices - 1);
                    s0 = std::max(0, s1 - 1);
                    if (std::abs(sliceZ[s1] - z) <= 1e-6 || s0 == s1) {
                        s0 = s1;
                        while (s0 > 0 && std::abs(sliceZ[s0 - 1] - sliceZ[s1]) <= 1e-6) --s0;
                        s1 = s0;
                    } else {
                        w = (z - sliceZ[s0]) / std::max(1e-9, sliceZ[s1] - sliceZ[s0]);
                    }
                }
                std::int16_t* dst = out.volume.voxels.data() + k * sliceVoxels;
                const std::int16_t* a = acquiredVoxels.data() + std::size_t(s0) * sliceVoxels;
                const std::int16_t* c = acquiredVoxels.data() + std::size_t(s1) * sliceVoxels;
                for (int j = 0; j < g.dims[1]; ++j)
                    for (int i = 0; i < g.dims[0]; ++i) {
                        auto va = sampleSlice(a, g.dims[0], g.dims[1], i - shiftX[s0],
                                              j - shiftY[s0]);
                        auto vc = sampleSlice(c, g.dims[0], g.dims[1], i - shiftX[s1],
                                              j - shiftY[s1]);
                        std::size_t idx = static_cast<std::size_t>(j) * g.dims[0] + i;
                        if (!va || !vc) {
                            dst[idx] = air;
                            ++miss;
                            continue;
                        }
                        dst[idx] = static_cast<std::int16_t>(
                            std::lround(std::clamp(*va * (1 - w) + *vc * w, -32768.0, 32767.0)));
                    }
            }
            outside += miss;
        });
        if (resample)
            report.add("resampled",
                       fmt::format("{} acquired slices were resampled to {} slices at a uniform "
                                   "{:.4f} mm (linear interpolation along the normal)",
                                   slices, outSlices, sliceSpacing));
        if (correctTilt)
            report.add("tilt-corrected",
                       fmt::format("the stack was tilted {:.2f} degrees (gantry tilt); slices were "
                                   "shifted in-plane onto an orthogonal grid (bilinear); {} "
                                   "voxels outside the acquired field were set to {}",
                                   tiltDeg, outside.load(), air));
    }
    if (!hasWindow && !isCt && !out.volume.voxels.empty()) {
        auto [lo, hi] = std::minmax_element(out.volume.voxels.begin(), out.volume.voxels.end());
        out.volume.windowCenter = (double(*lo) + double(*hi)) / 2.0;
        out.volume.windowWidth = std::max(1.0, double(*hi) - double(*lo));
    }
    progress.report(1.0, "decoded");
    return out;
}

Result<LoadedSeries> loadLargestSeries(const fs::path& path, const Progress& progress) {
    return loadLargestSeries(path, LoadOptions{}, progress);
}

Result<LoadedSeries> loadLargestSeries(const fs::path& path, const LoadOptions& options,
                                       const Progress& progress) {
    auto series = scanSeries(path, progress);
    if (!series) return std::unexpected(series.error());
    for (const auto& s : *series)
        if (s.isImage()) return loadSeries(s, options, progress);
    const auto& s = series->front();
    return fail(ErrorCode::NotFound,
                fmt::format("{}: no DICOM image series found, only non-image objects (first: a {} "
                            "object in {})",
                            path.string(), s.kind,
                            s.files.empty() ? std::string("?") : s.files.front().string()));
}

} // namespace precis::dicom
