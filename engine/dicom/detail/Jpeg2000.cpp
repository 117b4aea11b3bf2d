#include "dicom/detail/Jpeg2000.h"

#include <openjpeg.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

namespace precis::dicom::detail {
namespace {

constexpr std::uint8_t kJ2kMagic[] = {0xFF, 0x4F, 0xFF, 0x51};
constexpr std::uint8_t kJp2Magic[] = {0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20};

bool startsWith(const std::uint8_t* data, std::size_t size, const std::uint8_t* magic,
                std::size_t n) {
    return size >= n && std::memcmp(data, magic, n) == 0;
}

/// A read-only memory stream for OpenJPEG.
struct MemoryStream {
    const std::uint8_t* data;
    std::size_t size;
    std::size_t pos = 0;
};

OPJ_SIZE_T readFn(void* buffer, OPJ_SIZE_T bytes, void* user) {
    auto* s = static_cast<MemoryStream*>(user);
    if (s->pos >= s->size) return static_cast<OPJ_SIZE_T>(-1);
    std::size_t n = std::min<std::size_t>(bytes, s->size - s->pos);
    std::memcpy(buffer, s->data + s->pos, n);
    s->pos += n;
    return n;
}

OPJ_OFF_T skipFn(OPJ_OFF_T bytes, void* user) {
    auto* s = static_cast<MemoryStream*>(user);
    if (bytes < 0) {
        std::size_t back = static_cast<std::size_t>(-bytes);
        if (back > s->pos) return -1;
        s->pos -= back;
        return bytes;
    }
    std::size_t n = std::min<std::size_t>(static_cast<std::size_t>(bytes), s->size - s->pos);
    s->pos += n;
    return static_cast<OPJ_OFF_T>(n);
}

OPJ_BOOL seekFn(OPJ_OFF_T offset, void* user) {
    auto* s = static_cast<MemoryStream*>(user);
    if (offset < 0 || static_cast<std::size_t>(offset) > s->size) return OPJ_FALSE;
    s->pos = static_cast<std::size_t>(offset);
    return OPJ_TRUE;
}

void collect(const char* msg, void* user) {
    auto* log = static_cast<std::string*>(user);
    if (log->size() < 2000) log->append(msg);
}
void ignore(const char*, void*) {}

struct CodecDeleter {
    void operator()(opj_codec_t* c) const { opj_destroy_codec(c); }
};
struct StreamDeleter {
    void operator()(opj_stream_t* s) const { opj_stream_destroy(s); }
};
struct ImageDeleter {
    void operator()(opj_image_t* i) const { opj_image_destroy(i); }
};

} // namespace

bool looksLikeJpeg2000(const std::uint8_t* data, std::size_t size) {
    return startsWith(data, size, kJ2kMagic, sizeof kJ2kMagic) ||
           startsWith(data, size, kJp2Magic, sizeof kJp2Magic);
}

Result<J2kImage> decodeJpeg2000(const std::uint8_t* data, std::size_t size) {
    // Fragments may carry trailing padding before the codestream; accept a stream whose SOC sits
    // within the first bytes only when the very start is not already a codestream.
    const bool jp2 = startsWith(data, size, kJp2Magic, sizeof kJp2Magic);
    if (!jp2 && !startsWith(data, size, kJ2kMagic, 2))
        return fail(ErrorCode::ParseError, "not a JPEG 2000 codestream",
                    "missing SOC marker / JP2 signature");
    std::unique_ptr<opj_codec_t, CodecDeleter> codec(
        opj_create_decompress(jp2 ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K));
    if (!codec) return fail(ErrorCode::Internal, "JPEG 2000 decoder could not be created");
    std::string log;
    opj_set_error_handler(codec.get(), collect, &log);
    opj_set_warning_handler(codec.get(), ignore, nullptr);
    opj_set_info_handler(codec.get(), ignore, nullptr);
    opj_dparameters_t params;
    opj_set_default_decoder_parameters(&params);
    if (!opj_setup_decoder(codec.get(), &params))
        return fail(ErrorCode::Internal, "JPEG 2000 decoder setup failed", log);
    opj_decoder_set_strict_mode(codec.get(), OPJ_TRUE);

    MemoryStream mem{data, size};
    std::unique_ptr<opj_stream_t, StreamDeleter> stream(opj_stream_create(64 * 1024, OPJ_TRUE));
    if (!stream) return fail(ErrorCode::Internal, "JPEG 2000 stream could not be created");
    opj_stream_set_user_data(stream.get(), &mem, nullptr);
    opj_stream_set_user_data_length(stream.get(), size);
    opj_stream_set_read_function(stream.get(), readFn);
    opj_stream_set_skip_function(stream.get(), skipFn);
    opj_stream_set_seek_function(stream.get(), seekFn);

    opj_image_t* raw = nullptr;
    if (!opj_read_header(stream.get(), codec.get(), &raw)) {
        opj_image_destroy(raw);
        return fail(ErrorCode::ParseError, "JPEG 2000 header is invalid", log);
    }
    std::unique_ptr<opj_image_t, ImageDeleter> image(raw);
    if (!opj_decode(codec.get(), stream.get(), image.get()) ||
        !opj_end_decompress(codec.get(), stream.get()))
        return fail(ErrorCode::ParseError, "JPEG 2000 codestream could not be decoded", log);
    if (image->numcomps < 1 || !image->comps || !image->comps[0].data)
        return fail(ErrorCode::ParseError, "JPEG 2000 codestream holds no image data", log);
    const opj_image_comp_t& c = image->comps[0];
    J2kImage out;
    out.width = static_cast<int>(c.w);
    out.height = static_cast<int>(c.h);
    out.components = static_cast<int>(image->numcomps);
    out.precision = static_cast<int>(c.prec);
    out.isSigned = c.sgnd != 0;
    if (c.dx != 1 || c.dy != 1 || out.width <= 0 || out.height <= 0)
        return fail(ErrorCode::ParseError, "JPEG 2000 component is subsampled or empty");
    const std::size_t n = static_cast<std::size_t>(c.w) * c.h;
    out.samples.assign(c.data, c.data + n);
    return out;
}

} // namespace precis::dicom::detail
