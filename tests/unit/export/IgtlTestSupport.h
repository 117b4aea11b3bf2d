#pragma once
// Decoding OpenIGTLink bytes in the tests: big-endian readers written from the protocol
// description, and unpacking with libopenigtlink (the receiver's side) with its CRC check on.
#include "export/IgtlMessages.h"

#include <gtest/gtest.h>
#include <igtlMessageBase.h>
#include <igtlMessageHeader.h>
#include <igtlSocket.h>

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace precis::test {

inline std::uint64_t be(const std::uint8_t* p, int bytes) {
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i)
        v = (v << 8) | p[i];
    return v;
}
inline float beFloat(const std::uint8_t* p) {
    return std::bit_cast<float>(static_cast<std::uint32_t>(be(p, 4)));
}
/// A NUL-padded fixed-size text field (not necessarily NUL-terminated when full).
inline std::string field(const std::uint8_t* p, std::size_t size) {
    std::size_t n = 0;
    while (n < size && p[n] != 0)
        ++n;
    return std::string(reinterpret_cast<const char*>(p), n);
}

/// The message unpacked by the library, CRC checked; nullptr (and a test failure) otherwise.
template <class M> typename M::Pointer unpackIgtl(const std::uint8_t* bytes, std::size_t size) {
    auto header = igtl::MessageHeader::New();
    header->InitPack();
    if (size < static_cast<std::size_t>(header->GetPackSize())) {
        ADD_FAILURE() << "shorter than a header";
        return nullptr;
    }
    std::memcpy(header->GetPackPointer(), bytes, static_cast<std::size_t>(header->GetPackSize()));
    header->Unpack();
    auto msg = M::New();
    msg->SetMessageHeader(header);
    msg->AllocatePack();
    if (size != static_cast<std::size_t>(header->GetPackSize() + msg->GetPackBodySize())) {
        ADD_FAILURE() << "body size in the header disagrees with the bytes";
        return nullptr;
    }
    std::memcpy(msg->GetPackBodyPointer(), bytes + header->GetPackSize(),
                static_cast<std::size_t>(msg->GetPackBodySize()));
    const int r = msg->Unpack(1);
    if (!(r & igtl::MessageHeader::UNPACK_BODY)) {
        ADD_FAILURE() << "libopenigtlink did not unpack the body (CRC or layout)";
        return nullptr;
    }
    return msg;
}

template <class M> typename M::Pointer unpackIgtl(const exporting::IgtlMessage& m) {
    return unpackIgtl<M>(m.bytes.data(), m.bytes.size());
}

/// One message as it arrived: its type and device name, and the wire bytes (header + body).
struct Received {
    std::string type, device;
    std::vector<std::uint8_t> bytes; // header + body
};

/// The receiver's side with libopenigtlink: whole messages until the peer closes.
inline std::vector<Received> receiveAll(igtl::Socket* socket) {
    std::vector<Received> out;
    for (;;) {
        auto header = igtl::MessageHeader::New();
        header->InitPack();
        const int n = socket->Receive(header->GetPackPointer(), header->GetPackSize());
        if (n == 0) break; // closed
        if (n != header->GetPackSize()) {
            ADD_FAILURE() << "short header: " << n;
            break;
        }
        // Keep the wire bytes: Unpack converts the header's byte order in place.
        const auto* h = static_cast<const std::uint8_t*>(header->GetPackPointer());
        Received r;
        r.bytes.assign(h, h + header->GetPackSize());
        header->Unpack();
        r.type = header->GetDeviceType();
        r.device = header->GetDeviceName();
        const int bodySize = header->GetBodySizeToRead();
        r.bytes.resize(r.bytes.size() + static_cast<std::size_t>(bodySize));
        if (bodySize > 0 &&
            socket->Receive(r.bytes.data() + header->GetPackSize(), bodySize) != bodySize) {
            ADD_FAILURE() << "short body of " << r.type << " " << r.device;
            break;
        }
        out.push_back(std::move(r));
    }
    return out;
}

} // namespace precis::test
