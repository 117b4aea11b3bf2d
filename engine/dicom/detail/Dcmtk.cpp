#include "dicom/detail/Dcmtk.h"

#include <dcmtk/dcmdata/dcvr.h>
#include <dcmtk/dcmdata/dcrledrg.h>
#include <dcmtk/dcmdata/dcsequen.h>
#include <dcmtk/dcmjpeg/djdecode.h>
#include <dcmtk/dcmjpls/djdecode.h>
#include <dcmtk/oflog/oflog.h>
#include <dcmtk/ofstd/ofstd.h>

#include <cstdlib>
#include <mutex>

namespace precis::dicom::detail {

std::string getString(DcmItem& item, const DcmTagKey& tag, unsigned long pos) {
    OFString value;
    if (item.findAndGetOFString(tag, value, pos).bad()) return {};
    std::string s(value.c_str());
    auto b = s.find_first_not_of(" \t\r\n");
    auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

bool getDoubles(DcmItem& item, const DcmTagKey& tag, double* out, int count) {
    for (int i = 0; i < count; ++i) {
        Float64 v = 0;
        if (item.findAndGetFloat64(tag, v, static_cast<unsigned long>(i)).bad()) return false;
        out[i] = v;
    }
    return true;
}

std::vector<DcmItem*> items(DcmItem& item, const DcmTagKey& tag) {
    std::vector<DcmItem*> out;
    DcmSequenceOfItems* seq = nullptr;
    if (item.findAndGetSequence(tag, seq).good() && seq)
        for (unsigned long i = 0; i < seq->card(); ++i)
            if (DcmItem* it = seq->getItem(i)) out.push_back(it);
    return out;
}

void registerCodecs() {
    static std::once_flag once;
    std::call_once(once, [] {
        // DCMTK's own console log would interleave with our output; every failure it logs is
        // reported to the user through precis::Error / ImportReport instead.
        OFLog::configure(OFLogger::FATAL_LOG_LEVEL);
        // Some exporters write every element as UN (explicit VR): read known tags with their
        // dictionary VR so positions and pixel layout are usable.
        dcmEnableUnknownVRConversion.set(OFTrue);
        DJDecoderRegistration::registerCodecs();
        DJLSDecoderRegistration::registerCodecs();
        DcmRLEDecoderRegistration::registerCodecs();
    });
}

} // namespace precis::dicom::detail
