#pragma once
// The mesh importer's fuzz entry (anatomy/MeshIo.h, Assimp underneath), shared by the libFuzzer
// target (clang) and the replay test (any compiler).
#include <cstddef>
#include <cstdint>

namespace precis::fuzz {

/// The first byte picks the format (its value modulo 5: .stl, .obj, .ply, .gltf, .glb), the rest
/// is the file's bytes. Returns 0 always; a crash, sanitizer report or hang is the failure. Also
/// checks the contract: a failure is a ParseError naming the file, a success has triangles, every
/// index in range and only finite coordinates.
int fuzzMeshImport(const std::uint8_t* data, std::size_t size);

/// The file name the entry uses for a format selector byte.
const char* fuzzMeshFileName(std::uint8_t selector);

} // namespace precis::fuzz
