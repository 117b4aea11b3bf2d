#pragma once
// Draws slices of a GpuVolume: a 2D slice view filling a viewport (record2d, in any render pass
// of the main layout: the offscreen target or the app's swapchain), or a slice plane inside the
// 3D scene (recordPlane, used by SceneRenderer in its own pass, depth-tested with the meshes).
// The CT is resampled on the GPU from the 3D texture, so scrolling, zoom and window/level cost
// one draw and no upload.
#include "core/Error.h"
#include "render/Context.h"
#include "render/GpuVolume.h"
#include "render/Image.h"
#include "render/OrientationLabels.h"
#include "render/SliceView.h"
#include "render/ViewTypes.h"

#include <glm/glm.hpp>

#include <memory>

namespace precis::render {

class SliceRenderer {
public:
    /// Pipelines for `subpass` of `renderPass` rendered with `samples`; `depthTest` for planes in
    /// a scene with a depth buffer.
    static Result<std::unique_ptr<SliceRenderer>> create(Context& ctx, VkRenderPass renderPass,
                                                         std::uint32_t subpass,
                                                         VkSampleCountFlagBits samples,
                                                         bool depthTest);
    ~SliceRenderer();
    SliceRenderer(const SliceRenderer&) = delete;
    SliceRenderer& operator=(const SliceRenderer&) = delete;

    /// The slice `view` filling `viewport` (outside the volume: black). Sets viewport/scissor.
    void record2d(VkCommandBuffer cmd, const GpuVolume& volume, const SliceView& view,
                  const SliceDisplay& display, const ViewportRect& viewport) const;

    /// A plane rectangle in 3D (in-plane offsets `rect` from view.centerLps): the image where
    /// `showImage` (outside the volume discarded), and a frame in `frameColor` when frame.a > 0.
    /// Viewport and scissor must be set.
    void recordPlane(VkCommandBuffer cmd, const GpuVolume& volume, const SliceView& view,
                     const PlaneRect& rect, const SliceDisplay& display, bool showImage,
                     const glm::vec4& frameColor, const glm::dmat4& clipFromWorld) const;

private:
    explicit SliceRenderer(Context& ctx) : ctx_(&ctx) {}
    void draw(VkCommandBuffer cmd, const GpuVolume& volume, const glm::dvec4 cornerClip[4],
              const glm::dvec3 cornerWorld[3], const SliceDisplay& display, int mode,
              const glm::vec3& frameColor) const;
    Context* ctx_;
    VkDescriptorSetLayout setLayout_ = VK_NULL_HANDLE;
    VkPipelineLayout layout_ = VK_NULL_HANDLE;
    VkPipeline pipeline_ = VK_NULL_HANDLE;
};

/// Edge letters for a slice view (the patient direction towards each edge).
EdgeLabels edgeLabels(const SliceView& view);

/// One slice rendered offscreen and read back (tests, CLI, reports). Uploads the volume each
/// call; `palette` colours the labels when `labels` is given. Letters burnt in when asked.
Result<ImageRgba8> renderSliceOffscreen(Context& ctx, const model::Volume& volume,
                                        const model::LabelMap* labels, const LabelPalette& palette,
                                        const SliceView& view, const SliceDisplay& display,
                                        int width, int height, bool orientationLabels = true);

} // namespace precis::render
