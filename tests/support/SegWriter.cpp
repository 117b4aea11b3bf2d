#include "support/SegWriter.h"

#include "dicom/SeriesWriter.h"

#include <dcmtk/dcmdata/dcdeftag.h>
#include <dcmtk/dcmdata/dcfilefo.h>
#include <dcmtk/dcmdata/dcuid.h>
#include <dcmtk/dcmfg/fgderimg.h>
#include <dcmtk/dcmfg/fgfracon.h>
#include <dcmtk/dcmfg/fgpixmsr.h>
#include <dcmtk/dcmfg/fgplanor.h>
#include <dcmtk/dcmfg/fgplanpo.h>
#include <dcmtk/dcmiod/cielabutil.h>
#include <dcmtk/dcmiod/iodreferences.h>
#include <dcmtk/dcmseg/segdoc.h>
#include <dcmtk/dcmseg/segment.h>

#include <cmath>
#include <cstdio>
#include <memory>

namespace precis::test {

namespace fs = std::filesystem;

namespace {

std::string ds(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.10g", v);
    return buf;
}

/// DCMTK 3.6.7's DcmSegmentation::concatFrames ends by "zeroing the unused bits" of the last
/// byte with `(b >> free) << free`, which clears the bits in use instead (pixels are packed least
/// significant bit first), so the last 1..7 pixels of the last frame are lost whenever
/// frames*rows*cols is not a multiple of 8. Rewrite that one byte from the frame as meant, so the
/// file is what PS3.5 8.1.1 says it should be (every other byte stays DCMTK's own packing).
std::string repairLastBinaryByte(const fs::path& file, const SegSource& source,
                                 const std::vector<FrameSpec>& frames) {
    const std::size_t n = std::size_t(source.geometry.dims[0]) * std::size_t(source.geometry.dims[1]);
    const std::size_t bits = frames.size() * n;
    if (frames.empty() || bits % 8 == 0) return {};
    DcmFileFormat ff;
    if (ff.loadFile(file.c_str()).bad()) return "repair: reload";
    const Uint8* data = nullptr;
    unsigned long length = 0;
    DcmDataset& d = *ff.getDataset();
    if (d.findAndGetUint8Array(DCM_PixelData, data, &length).bad() || length < (bits + 7) / 8)
        return "repair: pixel data";
    std::vector<Uint8> bytes(data, data + length);
    Uint8 last = 0;
    for (std::size_t b = bits / 8 * 8; b < bits; ++b)
        if (frames.back().pixels[b - (frames.size() - 1) * n]) last |= Uint8(1u << (b % 8));
    bytes[bits / 8] = last;
    if (d.putAndInsertUint8Array(DCM_PixelData, bytes.data(), length).bad() ||
        ff.saveFile(file.c_str(), EXS_LittleEndianExplicit).bad())
        return "repair: save";
    return {};
}

} // namespace

SegSource segSourceFromWrittenSeries(const fs::path& dir, const model::ImageGeometry& geometry) {
    SegSource out;
    out.geometry = geometry;
    for (int k = 0; k < geometry.dims[2]; ++k) {
        char name[32];
        std::snprintf(name, sizeof name, "CT_%04d.dcm", k + 1);
        const fs::path file = dir / name;
        DcmFileFormat ff;
        OFString uid;
        if (ff.loadFile(file.c_str()).bad() || ff.getDataset()->findAndGetOFString(DCM_SOPInstanceUID, uid).bad())
            return {geometry, {}, {}};
        out.sopUids.emplace_back(uid.c_str());
        out.files.push_back(file.string());
    }
    return out;
}

std::string writeSeg(const fs::path& file, bool fractional, const SegSource& c,
                     const std::vector<SegmentSpec>& segments, const std::vector<FrameSpec>& frames) {
    const auto& g = c.geometry;
    const Uint16 kRows = Uint16(g.dims[1]), kCols = Uint16(g.dims[0]);
    IODGeneralEquipmentModule::EquipmentInfo eq("Precis tests", "SegTest", "1", "0.1");
    ContentIdentificationMacro ident("1", "PRECIS_TEST", "synthetic segmentation", "Precis^Tests");
    DcmSegmentation* raw = nullptr;
    OFCondition r = fractional
                        ? DcmSegmentation::createFractionalSegmentation(
                              raw, kRows, kCols, DcmSegTypes::SFT_PROBABILITY, 255, eq, ident)
                        : DcmSegmentation::createBinarySegmentation(raw, kRows, kCols, eq, ident);
    std::unique_ptr<DcmSegmentation> seg(raw);
    auto bad = [](const char* what, const OFCondition& cond) {
        return std::string(what) + ": " + cond.text();
    };
    if (r.bad() || !seg) return bad("create", r);
    r = seg->importFromSourceImage(c.files.front().c_str());
    if (r.bad()) return bad("import", r);
    seg->getSeries().setSeriesDescription("Precis test SEG");
    seg->getSeries().setSeriesNumber("100");

    const OFString dimUid = dicom::newUid().c_str();
    IODMultiframeDimensionModule& dim = seg->getDimensions();
    r = dim.addDimensionIndex(DCM_ReferencedSegmentNumber, dimUid,
                              DCM_SegmentIdentificationSequence, "ReferencedSegmentNumber");
    if (r.good())
        r = dim.addDimensionIndex(DCM_ImagePositionPatient, dimUid, DCM_PlanePositionSequence,
                                  "ImagePositionPatient");
    if (r.bad()) return bad("dimensions", r);

    FGPixelMeasures px;
    px.setPixelSpacing((ds(g.spacingMm.y) + "\\" + ds(g.spacingMm.x)).c_str());
    px.setSliceThickness(ds(g.spacingMm.z).c_str());
    px.setSpacingBetweenSlices(ds(g.spacingMm.z).c_str());
    const glm::dvec3 row = g.direction[0], col = g.direction[1];
    std::unique_ptr<FGPlaneOrientationPatient> ori(FGPlaneOrientationPatient::createMinimal(
        ds(row.x).c_str(), ds(row.y).c_str(), ds(row.z).c_str(), ds(col.x).c_str(),
        ds(col.y).c_str(), ds(col.z).c_str()));
    if ((r = seg->addForAllFrames(px)).bad()) return bad("pixel measures", r);
    if ((r = seg->addForAllFrames(*ori)).bad()) return bad("orientation", r);

    for (const auto& s : segments) {
        DcmSegment* segment = nullptr;
        r = DcmSegment::create(segment, s.label.c_str(), s.category, s.type, s.algo,
                               s.algo == DcmSegTypes::SAT_MANUAL ? "" : "PrecisTestAlgo");
        if (r.bad() || !segment) return bad("segment", r);
        if (!s.description.empty()) segment->setSegmentDescription(s.description.c_str());
        if (s.rgb) {
            double l = 0, a = 0, b = 0;
            IODCIELabUtil::rgb2DicomLab(l, a, b, s.rgb->x, s.rgb->y, s.rgb->z);
            segment->setRecommendedDisplayCIELabValue(
                Uint16(std::lround(l)), Uint16(std::lround(a)), Uint16(std::lround(b)));
        }
        Uint16 number = 0;
        if ((r = seg->addSegment(segment, number)).bad()) return bad("add segment", r);
    }

    for (const auto& f : frames) {
        FGPlanePosPatient* pos = FGPlanePosPatient::createMinimal(
            ds(f.positionMm.x).c_str(), ds(f.positionMm.y).c_str(), ds(f.positionMm.z).c_str());
        std::unique_ptr<FGPlanePosPatient> posOwner(pos);
        FGFrameContent content;
        content.setDimensionIndexValues(f.segment, 0);
        content.setDimensionIndexValues(f.planeIndex, 1);
        ImageSOPInstanceReferenceMacro src;
        src.setReferencedSOPClassUID(UID_CTImageStorage);
        src.setReferencedSOPInstanceUID(c.sopUids[std::size_t(f.sourceSlice)].c_str());
        OFVector<ImageSOPInstanceReferenceMacro> srcs;
        srcs.push_back(src);
        std::unique_ptr<FGDerivationImage> deriv(
            DcmSegmentation::createDerivationImageFG(srcs, "synthetic"));
        if (!deriv) return "derivation image";
        OFVector<FGBase*> groups;
        groups.push_back(pos);
        groups.push_back(&content);
        groups.push_back(deriv.get());
        std::vector<std::uint8_t> pixels = f.pixels;
        if ((r = seg->addFrame(pixels.data(), f.segment, groups)).bad()) return bad("frame", r);
    }

    IODReferences refs;
    OFVector<OFString> files;
    for (const auto& name : c.files)
        files.push_back(name.c_str());
    refs.addFromFiles(files);
    seg->getCommonInstanceReference().addReferences(refs);

    if ((r = seg->saveFile(file.c_str())).bad()) return bad("save", r);
    if (!fractional) return repairLastBinaryByte(file, c, frames);
    return {};
}


} // namespace precis::test
