#pragma once
// Private DCMTK helpers for engine/dicom (never included outside this module).
#include <dcmtk/config/osconfig.h>
#include <dcmtk/dcmdata/dcdatset.h>

#include <string>
#include <vector>

namespace precis::dicom::detail {

/// Accumulates the first failure of a run of putAndInsert calls.
class Put {
public:
    explicit Put(DcmItem* item) : item_(item) {}
    void str(const DcmTagKey& tag, const std::string& value) {
        check(item_->putAndInsertString(tag, value.c_str()), tag);
    }
    void u16(const DcmTagKey& tag, Uint16 value) { check(item_->putAndInsertUint16(tag, value), tag); }
    [[nodiscard]] bool ok() const { return detail_.empty(); }
    [[nodiscard]] const std::string& detail() const { return detail_; }

private:
    void check(const OFCondition& c, const DcmTagKey& tag) {
        if (c.bad() && detail_.empty()) detail_ = std::string(tag.toString().c_str()) + ": " + c.text();
    }
    DcmItem* item_;
    std::string detail_;
};

/// String value of a tag ("" when absent), trimmed.
std::string getString(DcmItem& item, const DcmTagKey& tag, unsigned long pos = 0);
/// All values of a multi-valued decimal string; empty when absent or unparsable.
bool getDoubles(DcmItem& item, const DcmTagKey& tag, double* out, int count);

/// Items of a sequence inside `item` (none when absent; null items skipped).
std::vector<DcmItem*> items(DcmItem& item, const DcmTagKey& tag);

/// Registers DCMTK's JPEG, JPEG-LS and RLE decoders once per process.
void registerCodecs();

} // namespace precis::dicom::detail
