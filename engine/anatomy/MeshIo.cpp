#include "anatomy/MeshIo.h"

#include "core/AtomicFile.h"

#include <assimp/Exporter.hpp>
#include <assimp/Importer.hpp>
#include <assimp/importerdesc.h>
#include <assimp/postprocess.h>
#include <assimp/scene.h>
#include <meshoptimizer.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <fstream>
#include <memory>
#include <sstream>
#include <string_view>

namespace precis::anatomy {
namespace {

std::string lowerExtension(const std::filesystem::path& file) {
    std::string ext = file.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return ext;
}

/// mtllib lines of an OBJ whose files do not exist beside it. Assimp carries on without them (a
/// default material), so this only feeds the report.
std::vector<std::string> missingMaterialFiles(const std::filesystem::path& obj) {
    std::vector<std::string> missing;
    std::ifstream in(obj);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("mtllib", 0) != 0 || line.size() < 7 || !std::isspace(line[6])) continue;
        std::string name = line.substr(7);
        while (!name.empty() && std::isspace(static_cast<unsigned char>(name.back())))
            name.pop_back();
        while (!name.empty() && std::isspace(static_cast<unsigned char>(name.front())))
            name.erase(name.begin());
        if (!name.empty() && !std::filesystem::exists(obj.parent_path() / name))
            missing.push_back((obj.parent_path() / name).string());
    }
    return missing;
}

glm::dmat4 toGlm(const aiMatrix4x4& m) {
    // aiMatrix4x4 is row-major (a1..a4 is the first row); glm is column-major.
    return glm::dmat4(m.a1, m.b1, m.c1, m.d1, m.a2, m.b2, m.c2, m.d2, m.a3, m.b3, m.c3, m.d3,
                      m.a4, m.b4, m.c4, m.d4);
}

struct Collector {
    const aiScene* scene = nullptr;
    glm::dmat4 lpsFromFile{1.0};
    model::Mesh mesh;
    std::size_t droppedFaces = 0, badFaces = 0, meshes = 0;
    bool mirrored = false;

    void visit(const aiNode* node, const glm::dmat4& parent) {
        const glm::dmat4 world = parent * toGlm(node->mTransformation);
        const glm::dmat4 full = lpsFromFile * world;
        const bool flip = glm::determinant(glm::dmat3(full)) < 0;
        for (unsigned k = 0; k < node->mNumMeshes; ++k) {
            const aiMesh* m = scene->mMeshes[node->mMeshes[k]];
            const auto base = static_cast<std::uint32_t>(mesh.positions.size());
            for (unsigned v = 0; v < m->mNumVertices; ++v) {
                const aiVector3D& p = m->mVertices[v];
                mesh.positions.emplace_back(glm::dvec3(full * glm::dvec4(p.x, p.y, p.z, 1.0)));
            }
            for (unsigned f = 0; f < m->mNumFaces; ++f) {
                const aiFace& face = m->mFaces[f];
                if (face.mNumIndices < 3) {
                    ++droppedFaces;
                    continue;
                }
                bool inRange = true;
                for (unsigned i = 0; i < face.mNumIndices; ++i)
                    inRange = inRange && face.mIndices[i] < m->mNumVertices;
                if (!inRange) {
                    ++badFaces;
                    continue;
                }
                // Polygons are fanned from their first corner (Assimp's triangulation step
                // aborts on some corrupt files; mesh formats' polygons are convex in practice).
                for (unsigned i = 1; i + 1 < face.mNumIndices; ++i) {
                    mesh.indices.push_back(base + face.mIndices[0]);
                    mesh.indices.push_back(base + face.mIndices[flip ? i + 1 : i]);
                    mesh.indices.push_back(base + face.mIndices[flip ? i : i + 1]);
                }
            }
            mirrored = mirrored || flip;
            ++meshes;
        }
        for (unsigned c = 0; c < node->mNumChildren; ++c) visit(node->mChildren[c], world);
    }
};

void weld(model::Mesh& mesh) {
    std::vector<unsigned int> remap(mesh.positions.size());
    const std::size_t unique = meshopt_generateVertexRemap(
        remap.data(), mesh.indices.data(), mesh.indices.size(), mesh.positions.data(),
        mesh.positions.size(), sizeof(glm::vec3));
    std::vector<glm::vec3> positions(unique);
    meshopt_remapVertexBuffer(positions.data(), mesh.positions.data(), mesh.positions.size(),
                              sizeof(glm::vec3), remap.data());
    meshopt_remapIndexBuffer(mesh.indices.data(), mesh.indices.data(), mesh.indices.size(),
                             remap.data());
    mesh.positions = std::move(positions);
}

const char* kBase64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string base64(const unsigned char* data, std::size_t size) {
    std::string out;
    out.reserve((size + 2) / 3 * 4);
    for (std::size_t i = 0; i < size; i += 3) {
        const std::uint32_t n = (std::uint32_t(data[i]) << 16) |
                                (i + 1 < size ? std::uint32_t(data[i + 1]) << 8 : 0u) |
                                (i + 2 < size ? std::uint32_t(data[i + 2]) : 0u);
        out += kBase64[(n >> 18) & 63];
        out += kBase64[(n >> 12) & 63];
        out += i + 1 < size ? kBase64[(n >> 6) & 63] : '=';
        out += i + 2 < size ? kBase64[n & 63] : '=';
    }
    return out;
}

/// A one-mesh aiScene over `mesh` (copied: aiScene owns and frees its arrays).
std::unique_ptr<aiScene> makeScene(const model::Mesh& mesh) {
    auto scene = std::make_unique<aiScene>();
    scene->mRootNode = new aiNode("precis-mesh-lps-mm");
    scene->mRootNode->mNumMeshes = 1;
    scene->mRootNode->mMeshes = new unsigned[1]{0};
    scene->mNumMaterials = 1;
    scene->mMaterials = new aiMaterial*[1]{new aiMaterial};
    scene->mNumMeshes = 1;
    scene->mMeshes = new aiMesh*[1]{new aiMesh};
    aiMesh& m = *scene->mMeshes[0];
    m.mName = "surface";
    m.mPrimitiveTypes = aiPrimitiveType_TRIANGLE;
    m.mMaterialIndex = 0;
    m.mNumVertices = static_cast<unsigned>(mesh.positions.size());
    m.mVertices = new aiVector3D[m.mNumVertices];
    for (unsigned v = 0; v < m.mNumVertices; ++v)
        m.mVertices[v] = aiVector3D(mesh.positions[v].x, mesh.positions[v].y, mesh.positions[v].z);
    if (mesh.normals.size() == mesh.positions.size()) {
        m.mNormals = new aiVector3D[m.mNumVertices];
        for (unsigned v = 0; v < m.mNumVertices; ++v)
            m.mNormals[v] = aiVector3D(mesh.normals[v].x, mesh.normals[v].y, mesh.normals[v].z);
    }
    m.mNumFaces = static_cast<unsigned>(mesh.triangleCount());
    m.mFaces = new aiFace[m.mNumFaces];
    for (unsigned f = 0; f < m.mNumFaces; ++f) {
        m.mFaces[f].mNumIndices = 3;
        m.mFaces[f].mIndices =
            new unsigned[3]{mesh.indices[3 * f], mesh.indices[3 * f + 1], mesh.indices[3 * f + 2]};
    }
    return scene;
}

} // namespace

double millimetresPer(LengthUnit unit) {
    switch (unit) {
    case LengthUnit::Millimetres: return 1.0;
    case LengthUnit::Centimetres: return 10.0;
    case LengthUnit::Metres: return 1000.0;
    case LengthUnit::Inches: return 25.4;
    }
    return 1.0;
}

std::string_view toString(LengthUnit unit) {
    switch (unit) {
    case LengthUnit::Millimetres: return "millimetres";
    case LengthUnit::Centimetres: return "centimetres";
    case LengthUnit::Metres: return "metres";
    case LengthUnit::Inches: return "inches";
    }
    return "?";
}

namespace {

/// The unit to use and the report so far ("assumed-unit") for a source named `source`.
ImportedMesh startImport(const std::string& ext, const std::string& source,
                         const std::string& shownName, const MeshImportOptions& options) {
    ImportedMesh out;
    const bool gltf = ext == ".gltf" || ext == ".glb";
    out.unit = options.unit.value_or(gltf ? LengthUnit::Metres : LengthUnit::Millimetres);
    if (!options.unit)
        out.report.add("assumed-unit",
                       fmt::format("{} does not state its unit; assumed {}{}.", shownName,
                                   toString(out.unit), gltf ? " (the glTF convention)" : ""),
                       {source});
    return out;
}

/// Assimp 5.2's PLY reader loops forever on a header cut short (seen: "ply\nformat binary_"), so
/// a PLY (by name or by its first bytes) must show its "end_header" before Assimp sees it.
/// `head`: the first bytes of the file (up to kPlyHeaderLimit).
constexpr std::size_t kPlyHeaderLimit = 1 << 16;
bool truncatedPlyHeader(std::string_view head, const std::string& ext) {
    if (ext != ".ply" && head.substr(0, 3) != "ply") return false;
    return head.find("end_header") == std::string_view::npos;
}

/// Assimp 5.2's binary PLY reader also crashes on corrupt bodies (seen: a mutated header
/// comment or body). A binary PLY is walked here first: every element's rows must fit the
/// bytes, list counts must be sane and face indices must name existing vertices. Returns what
/// is wrong, or an empty string. ASCII PLY is left to Assimp.
std::string binaryPlyProblem(std::string_view bytes) {
    const std::size_t headerEnd = bytes.find("end_header");
    if (headerEnd == std::string_view::npos) return "no end_header";
    std::size_t body = bytes.find('\n', headerEnd);
    if (body == std::string_view::npos) return "no body";
    ++body;
    struct Property {
        int size = 0, countSize = 0; // countSize > 0: a list
        bool isSigned = false, countSigned = false, isIndex = false;
    };
    struct Element {
        std::string name;
        std::uint64_t count = 0;
        std::vector<Property> properties;
    };
    auto typeSize = [](const std::string& t, bool& isSigned) {
        isSigned = t == "char" || t == "int8" || t == "short" || t == "int16" || t == "int" ||
                   t == "int32";
        if (t == "char" || t == "uchar" || t == "int8" || t == "uint8") return 1;
        if (t == "short" || t == "ushort" || t == "int16" || t == "uint16") return 2;
        if (t == "int" || t == "uint" || t == "int32" || t == "uint32" || t == "float" ||
            t == "float32")
            return 4;
        if (t == "double" || t == "float64") return 8;
        return 0;
    };
    std::vector<Element> elements;
    bool little = true, binary = false;
    // Control characters count as spaces: readers differ on them, and a name must not hide a
    // word from this check.
    std::string headerText(bytes.substr(0, headerEnd));
    for (char& c : headerText)
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n') c = ' ';
    std::istringstream header{headerText};
    for (std::string line; std::getline(header, line);) {
        std::istringstream words(line);
        std::string word;
        words >> word;
        if (word == "format") {
            words >> word;
            binary = word != "ascii";
            little = word == "binary_little_endian";
        } else if (word == "element") {
            Element e;
            if (!(words >> e.name >> e.count)) return "bad element line";
            elements.push_back(std::move(e));
        } else if (word == "property") {
            if (elements.empty()) return "property before any element";
            Property p;
            std::string type, name;
            words >> type;
            if (type == "list") {
                std::string countType;
                words >> countType >> type;
                p.countSize = typeSize(countType, p.countSigned);
                if (p.countSize == 0) return "unknown list count type";
            }
            words >> name;
            p.size = typeSize(type, p.isSigned);
            if (p.size == 0) return "unknown property type";
            // Every integer list is checked as vertex indices (whatever its name says).
            p.isIndex = p.countSize > 0 && type != "float" && type != "float32" &&
                        type != "double" && type != "float64";
            elements.back().properties.push_back(p);
        }
    }
    if (!binary) return {};
    std::uint64_t vertices = 0;
    for (const Element& e : elements)
        if (e.name == "vertex") vertices = e.count;
    auto read = [&](std::size_t at, int size, bool isSigned) -> std::int64_t {
        std::uint64_t v = 0;
        for (int i = 0; i < size; ++i)
            v |= std::uint64_t(std::uint8_t(bytes[at + std::size_t(little ? i : size - 1 - i)]))
                 << (8 * i);
        if (isSigned && size < 8 && (v >> (8 * size - 1)) & 1) v |= ~0ull << (8 * size);
        return static_cast<std::int64_t>(v);
    };
    std::size_t at = body;
    for (const Element& e : elements) {
        if (e.properties.empty()) continue;
        if (e.count > bytes.size() - at) return "element " + e.name + " longer than the file";
        for (std::uint64_t row = 0; row < e.count; ++row)
            for (const Property& p : e.properties) {
                if (p.countSize == 0) {
                    if (bytes.size() - at < std::size_t(p.size)) return "truncated";
                    at += std::size_t(p.size);
                    continue;
                }
                if (bytes.size() - at < std::size_t(p.countSize)) return "truncated";
                const std::int64_t n = read(at, p.countSize, p.countSigned);
                at += std::size_t(p.countSize);
                if (n < 0 || std::uint64_t(n) * std::uint64_t(p.size) > bytes.size() - at)
                    return "bad list length";
                for (std::int64_t i = 0; i < n; ++i, at += std::size_t(p.size))
                    if (p.isIndex) {
                        const std::int64_t v = p.size <= 8 ? read(at, p.size, p.isSigned) : 0;
                        if (v < 0 || std::uint64_t(v) >= vertices) return "face index out of range";
                    }
            }
    }
    return {};
}

/// ParseError naming `source` when binaryPlyProblem finds one.
Result<void> checkPly(std::string_view text, const std::string& source) {
    if (const std::string problem = binaryPlyProblem(text); !problem.empty())
        return fail(ErrorCode::ParseError,
                    fmt::format("Could not read the mesh file {}: it is corrupt or truncated.",
                                source),
                    "PLY: " + problem);
    return {};
}

Error truncatedPlyError(const std::string& source) {
    return {ErrorCode::ParseError,
            fmt::format("Could not read the mesh file {}: its PLY header is truncated or longer "
                        "than {} KiB (no end_header).",
                        source, kPlyHeaderLimit / 1024),
            {}};
}

/// Only positions matter: dropping the rest lets coincident vertices weld across seams.
void configure(Assimp::Importer& importer) {
    importer.SetPropertyInteger(AI_CONFIG_PP_RVC_FLAGS,
                                aiComponent_NORMALS | aiComponent_TANGENTS_AND_BITANGENTS |
                                    aiComponent_COLORS | aiComponent_TEXCOORDS |
                                    aiComponent_BONEWEIGHTS | aiComponent_ANIMATIONS |
                                    aiComponent_TEXTURES | aiComponent_LIGHTS |
                                    aiComponent_CAMERAS);
}

constexpr unsigned kImportSteps = aiProcess_RemoveComponent | aiProcess_ValidateDataStructure;

/// The scene Assimp read (or nullptr) joined into `out`: errors and warnings name `source`.
Result<ImportedMesh> finishImport(const Assimp::Importer& importer, const aiScene* scene,
                                  ImportedMesh out, const std::string& ext,
                                  const std::string& source, const std::string& shownName,
                                  const MeshImportOptions& options) {
    if (!scene || (scene->mFlags & AI_SCENE_FLAGS_INCOMPLETE) || !scene->mRootNode)
        return fail(ErrorCode::ParseError,
                    fmt::format("Could not read the mesh file {}: it is corrupt, truncated or in a "
                                "format that cannot be read.",
                                source),
                    importer.GetErrorString());
    const int importerIndex = importer.GetPropertyInteger("importerIndex", -1);
    if (const aiImporterDesc* desc =
            importerIndex >= 0 ? importer.GetImporterInfo(std::size_t(importerIndex)) : nullptr)
        out.format = desc->mName;
    else
        out.format = ext;

    Collector collector;
    collector.scene = scene;
    collector.lpsFromFile = options.toLps * glm::dmat4(glm::dmat3(millimetresPer(out.unit)));
    collector.visit(scene->mRootNode, glm::dmat4(1.0));
    if (collector.badFaces)
        return fail(ErrorCode::ParseError,
                    fmt::format("The mesh file {} is corrupt: {} faces refer to missing vertices.",
                                source, collector.badFaces));
    if (collector.mesh.empty())
        return fail(ErrorCode::ParseError,
                    fmt::format("The mesh file {} contains no triangles.", source),
                    fmt::format("{} meshes, {} faces dropped (points or lines)", scene->mNumMeshes,
                                collector.droppedFaces));
    if (collector.droppedFaces)
        out.report.add("dropped-primitives",
                       fmt::format("{} points or lines in {} were ignored (only triangles are "
                                   "used).",
                                   collector.droppedFaces, shownName),
                       {source});
    if (collector.mirrored)
        out.report.add("mirrored",
                       "The transform to LPS mirrors the mesh; triangle winding was flipped to "
                       "keep normals pointing outwards.",
                       {source});
    for (const glm::vec3& p : collector.mesh.positions)
        if (!std::isfinite(p.x) || !std::isfinite(p.y) || !std::isfinite(p.z))
            return fail(ErrorCode::ParseError,
                        fmt::format("The mesh file {} has coordinates that are not finite "
                                    "numbers (or too large for millimetres).",
                                    source));
    out.mesh = std::move(collector.mesh);
    out.sourceMeshes = collector.meshes;
    weld(out.mesh);
    const glm::dvec3 size = out.mesh.bounds().size();
    const double extentMm = std::max({size.x, size.y, size.z});
    if (extentMm < 1.0 || extentMm > 5000.0)
        out.report.add("suspicious-size",
                       fmt::format("{} is {:.4g} mm across when read as {}; check the unit.",
                                   shownName, extentMm, toString(out.unit)),
                       {source});
    out.mesh.computeNormals();
    return out;
}

} // namespace

Result<ImportedMesh> importMesh(const std::filesystem::path& file,
                                const MeshImportOptions& options) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(file, ec))
        return fail(ErrorCode::NotFound, fmt::format("Mesh file not found: {}", file.string()));
    const std::string ext = lowerExtension(file);
    const std::string source = file.string(), shownName = file.filename().string();
    ImportedMesh out = startImport(ext, source, shownName, options);
    if (ext == ".obj")
        for (const std::string& mtl : missingMaterialFiles(file))
            out.report.add("missing-material",
                           fmt::format("Material file {} is missing; the geometry was read "
                                       "without it.",
                                       std::filesystem::path(mtl).filename().string()),
                           {mtl});
    {
        std::ifstream in(file, std::ios::binary);
        std::string head(kPlyHeaderLimit, '\0');
        in.read(head.data(), std::streamsize(head.size()));
        head.resize(std::size_t(in.gcount()));
        if (truncatedPlyHeader(head, ext)) return std::unexpected(truncatedPlyError(source));
        if (ext == ".ply" || head.substr(0, 3) == "ply") {
            std::ifstream whole(file, std::ios::binary);
            std::string text(std::filesystem::file_size(file, ec), '\0');
            whole.read(text.data(), std::streamsize(text.size()));
            text.resize(std::size_t(whole.gcount()));
            if (auto ok = checkPly(text, source); !ok) return std::unexpected(ok.error());
        }
    }
    Assimp::Importer importer;
    configure(importer);
    const aiScene* scene = nullptr;
    try {
        scene = importer.ReadFile(source, kImportSteps);
    } catch (const std::exception& e) {
        return fail(ErrorCode::ParseError, fmt::format("Could not read the mesh file {}.", source),
                    e.what());
    }
    return finishImport(importer, scene, std::move(out), ext, source, shownName, options);
}

Result<ImportedMesh> importMeshFromMemory(std::span<const std::uint8_t> bytes,
                                          const std::string& name,
                                          const MeshImportOptions& options) {
    const std::string ext = lowerExtension(name);
    ImportedMesh out = startImport(ext, name, name, options);
    if (bytes.empty())
        return fail(ErrorCode::ParseError, fmt::format("The mesh file {} is empty.", name));
    if (truncatedPlyHeader(std::string_view(reinterpret_cast<const char*>(bytes.data()),
                                            std::min(bytes.size(), kPlyHeaderLimit)),
                           ext))
        return std::unexpected(truncatedPlyError(name));
    const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (ext == ".ply" || text.substr(0, 3) == "ply")
        if (auto ok = checkPly(text, name); !ok) return std::unexpected(ok.error());
    Assimp::Importer importer;
    configure(importer);
    const aiScene* scene = nullptr;
    try {
        scene = importer.ReadFileFromMemory(bytes.data(), bytes.size(), kImportSteps,
                                            ext.empty() ? "" : ext.c_str() + 1);
    } catch (const std::exception& e) {
        return fail(ErrorCode::ParseError, fmt::format("Could not read the mesh file {}.", name),
                    e.what());
    }
    return finishImport(importer, scene, std::move(out), ext, name, name, options);
}

Result<void> exportMesh(const model::Mesh& mesh, const std::filesystem::path& file,
                        MeshFileFormat format) {
    if (mesh.empty())
        return fail(ErrorCode::InvalidArgument,
                    fmt::format("Nothing to save to {}: the mesh has no triangles.", file.string()));
    if (format == MeshFileFormat::FromExtension) {
        const std::string ext = lowerExtension(file);
        if (ext == ".stl") format = MeshFileFormat::StlBinary;
        else if (ext == ".obj") format = MeshFileFormat::Obj;
        else if (ext == ".ply") format = MeshFileFormat::PlyBinary;
        else if (ext == ".gltf") format = MeshFileFormat::Gltf;
        else if (ext == ".glb") format = MeshFileFormat::Glb;
        else
            return fail(ErrorCode::InvalidArgument,
                        fmt::format("Cannot save a mesh as {}: use .stl, .obj, .ply, .gltf or "
                                    ".glb.",
                                    file.string()));
    }
    const char* id = "stlb";
    switch (format) {
    case MeshFileFormat::FromExtension:
    case MeshFileFormat::StlBinary: id = "stlb"; break;
    case MeshFileFormat::Obj: id = "objnomtl"; break;
    case MeshFileFormat::PlyBinary: id = "plyb"; break;
    case MeshFileFormat::Gltf: id = "gltf2"; break;
    case MeshFileFormat::Glb: id = "glb2"; break;
    }
    std::unique_ptr<aiScene> scene = makeScene(mesh);
    Assimp::Exporter exporter;
    const aiExportDataBlob* blob = nullptr;
    try {
        blob = exporter.ExportToBlob(scene.get(), id);
    } catch (const std::exception& e) {
        return fail(ErrorCode::Internal, fmt::format("Could not save {}.", file.string()), e.what());
    }
    if (!blob)
        return fail(ErrorCode::Internal, fmt::format("Could not save {}.", file.string()),
                    exporter.GetErrorString());
    std::string text(static_cast<const char*>(blob->data), blob->size);
    if (format == MeshFileFormat::Gltf) {
        // Assimp writes the buffer as a second blob referenced by a placeholder name; embed it as
        // a data URI so the .gltf is one self-contained file (and one atomic save).
        const std::string placeholder = "\"$blobfile.bin\"";
        const auto at = text.find(placeholder);
        if (!blob->next || at == std::string::npos)
            return fail(ErrorCode::Internal, fmt::format("Could not save {}.", file.string()),
                        "unexpected glTF blob layout from Assimp");
        text.replace(at, placeholder.size(),
                     "\"data:application/octet-stream;base64," +
                         base64(static_cast<const unsigned char*>(blob->next->data),
                                blob->next->size) +
                         "\"");
    }
    return writeFileAtomically(file, text);
}

} // namespace precis::anatomy
