#pragma once
// A volume (and optionally its label map) on the GPU as 3D textures, for slice views and slice
// planes in 3D (SliceRenderer). Uploaded once; the label palette (colour and opacity per label,
// display state from the app) can change at any time.
//
// The CT is stored as R16_SNORM (the int16 HU bits as they are; exact) and sampled trilinearly,
// or as R32_SFLOAT where the device cannot filter R16_SNORM. Labels are R8_UINT, read nearest.
// Texture coordinates: t = (index + 0.5) / dims, so the texture covers the voxels' extent.
//
// Destruction and palette changes go through Context::deferDestroy (frames in flight may still
// read the old resources).
#include "core/Error.h"
#include "model/ImageGeometry.h"
#include "model/Structure.h"
#include "model/Volume.h"
#include "render/Context.h"
#include "render/detail/Resources.h"

#include <glm/glm.hpp>

#include <array>
#include <memory>
#include <span>

namespace precis::render {

/// Per label value: sRGB-encoded colour and opacity (alpha 0: label not drawn). Label 0 is
/// background and normally transparent.
using LabelPalette = std::array<glm::vec4, 256>;

class GpuVolume {
public:
    /// `labels` (optional) must be on the volume's grid (InvalidArgument otherwise, and for an
    /// empty volume). DeviceError when the device lacks memory or 3D textures of that size.
    static Result<std::shared_ptr<GpuVolume>> upload(Context& ctx, const model::Volume& volume,
                                                     const model::LabelMap* labels = nullptr);
    ~GpuVolume();
    GpuVolume(const GpuVolume&) = delete;
    GpuVolume& operator=(const GpuVolume&) = delete;

    /// Replaces the label colours (takes effect for frames recorded afterwards).
    Result<void> setPalette(const LabelPalette& palette);
    [[nodiscard]] const LabelPalette& palette() const { return palette_; }

    [[nodiscard]] const model::ImageGeometry& geometry() const { return geometry_; }
    [[nodiscard]] bool hasLabels() const { return hasLabels_; }
    /// Texture coordinate of an LPS point (affine).
    [[nodiscard]] glm::dmat4 textureFromWorld() const { return textureFromWorld_; }
    /// Texture value per HU (the shader's window is given in texture units).
    [[nodiscard]] double textureUnitsPerHu() const { return unitsPerHu_; }

    /// Set 0 of SliceRenderer's pipeline layout: CT, labels, palette.
    [[nodiscard]] VkDescriptorSet descriptorSet() const { return set_; }
    /// The layout of descriptorSet(), built the same way by SliceRenderer (identically defined
    /// layouts are compatible).
    static Result<VkDescriptorSetLayout> createSetLayout(VkDevice device);

private:
    explicit GpuVolume(Context& ctx) : ctx_(&ctx) {}
    Context* ctx_;
    model::ImageGeometry geometry_;
    glm::dmat4 textureFromWorld_{1.0};
    double unitsPerHu_ = 1.0;
    bool hasLabels_ = false;
    LabelPalette palette_{};

    struct Texture {
        VkImage image = VK_NULL_HANDLE;
        VkDeviceMemory memory = VK_NULL_HANDLE;
        VkImageView view = VK_NULL_HANDLE;
    };
    Texture ct_, labels_;
    VkSampler linear_ = VK_NULL_HANDLE, nearest_ = VK_NULL_HANDLE;
    VkDescriptorSetLayout setLayout_ = VK_NULL_HANDLE;
    VkDescriptorPool pool_ = VK_NULL_HANDLE;
    VkDescriptorSet set_ = VK_NULL_HANDLE;
    detail::Buffer paletteBuffer_;
};

/// The default overlay palette: every label 1..255 in a distinct colour at opacity 1 (the view's
/// overlay opacity scales it), label 0 transparent.
LabelPalette defaultLabelPalette();

/// A palette from structures: each label in its structure's default colour; the bulky soft
/// tissues (skin, fat, muscle) at `softTissueOpacity` so they do not hide the image, the rest at
/// 1. Labels without a structure are transparent.
LabelPalette paletteFromStructures(std::span<const model::Structure> structures,
                                   float softTissueOpacity = 0.3f);

} // namespace precis::render
