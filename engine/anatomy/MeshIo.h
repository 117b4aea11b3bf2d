#pragma once
// Surface meshes from and to files (Assimp, private to this module).
//
// Import: STL, OBJ, PLY, glTF 2.0 (.gltf/.glb) and whatever else Assimp reads. Every mesh in the
// file is placed by its node transforms, triangulated and joined into one model::Mesh; exactly
// coincident vertices are welded (so closed surfaces come out closed even when the file splits
// vertices by normal), and normals are recomputed. Lines and points are dropped (warning).
// Coordinates become LPS mm as   pLps = toLps * (unitMm * pFile).
// Most mesh formats carry no unit and no patient frame: the caller states both, and the report
// says what was assumed.
//
// Export: files carry LPS mm, whatever the format's convention (glTF says metres and +Y up).
// Tools that assume RAS or metres must convert. Saves are atomic (temporary file + rename).
#include "core/Error.h"
#include "model/ImportReport.h"
#include "model/Mesh.h"

#include <glm/glm.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>

namespace precis::anatomy {

enum class LengthUnit { Millimetres, Centimetres, Metres, Inches };

/// Millimetres per unit (1, 10, 1000, 25.4).
double millimetresPer(LengthUnit unit);
std::string_view toString(LengthUnit unit);

/// RAS → LPS (negate x and y), for files written by RAS tools (3D Slicer's default for models).
inline glm::dmat4 lpsFromRas() { return glm::dmat4(glm::dvec4(-1, 0, 0, 0), glm::dvec4(0, -1, 0, 0),
                                                   glm::dvec4(0, 0, 1, 0), glm::dvec4(0, 0, 0, 1)); }

struct MeshImportOptions {
    /// Unit of the file's coordinates. Unset: metres for glTF (its specification), millimetres
    /// for everything else; either assumption is reported ("assumed-unit").
    std::optional<LengthUnit> unit;
    /// Applied after scaling to mm: the file's frame → LPS. A mirroring transform (negative
    /// determinant) also flips the triangle winding so normals keep pointing outwards.
    glm::dmat4 toLps{1.0};
};

struct ImportedMesh {
    model::Mesh mesh; // LPS mm, CCW seen from outside when the file was
    model::ImportReport report;
    std::string format;  // Assimp's importer description, e.g. "Wavefront Object Importer"
    LengthUnit unit = LengthUnit::Millimetres; // the unit used (given or assumed)
    std::size_t sourceMeshes = 0;              // meshes joined
};

/// Reads a mesh file. NotFound when the file is missing; ParseError (naming the file, with
/// Assimp's message as detail) for truncated, corrupt or unsupported files and for files without
/// triangles or with coordinates that are not finite. Missing material (.mtl) or texture files
/// are warnings, not errors. Warnings:
/// "assumed-unit", "missing-material", "dropped-primitives", "suspicious-size" (a mesh under
/// 1 mm or over 5 m across after scaling: the unit is probably wrong), "mirrored".
[[nodiscard]] Result<ImportedMesh> importMesh(const std::filesystem::path& file,
                                              const MeshImportOptions& options = {});

/// The same from bytes in memory (a file already read, a network buffer, a fuzzer's input).
/// `name` stands for the file: its extension picks the format (.stl, .obj, .ply, .gltf, .glb;
/// Assimp sniffs the content when it has none) and every message names it. A .gltf must have its
/// buffers embedded (data URIs), and an OBJ's material files are not looked for (no
/// "missing-material"). ParseError naming `name` for empty, truncated, corrupt or unsupported
/// bytes and for bytes without triangles.
[[nodiscard]] Result<ImportedMesh> importMeshFromMemory(std::span<const std::uint8_t> bytes,
                                                        const std::string& name,
                                                        const MeshImportOptions& options = {});

enum class MeshFileFormat {
    FromExtension, // .stl, .obj, .ply, .gltf, .glb
    StlBinary,
    Obj,
    PlyBinary,
    Gltf, // JSON with the binary buffer embedded (base64), one file
    Glb,  // binary glTF
};

/// Writes `mesh` (LPS mm, as is) atomically. InvalidArgument for an unknown extension or an empty
/// mesh; IoError naming the file when it cannot be written.
[[nodiscard]] Result<void> exportMesh(const model::Mesh& mesh, const std::filesystem::path& file,
                                      MeshFileFormat format = MeshFileFormat::FromExtension);

} // namespace precis::anatomy
