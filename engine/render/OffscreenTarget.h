#pragma once
// A headless colour (RGBA8, or BGRA8 converted on readback) + depth target, with 4x MSAA (where
// supported) resolved to a single-sample image unless asked for one sample, read back to the
// host. First-class: tests, the CLI and benchmarks render through it exactly as the window does.
// A target that only receives SceneRenderer's copy needs no MSAA (the scene image is already
// antialiased and copied 1:1): ask for VK_SAMPLE_COUNT_1_BIT, which saves a multisampled clear
// and resolve per frame.
#include "core/Error.h"
#include "render/Context.h"
#include "render/Image.h"
#include "render/detail/Resources.h"

#include <glm/glm.hpp>

#include <memory>

namespace precis::render {

class OffscreenTarget {
public:
    /// InvalidArgument when the size is not within 1..maxFramebufferWidth/Height. Samples: the
    /// context's MSAA count.
    static Result<std::unique_ptr<OffscreenTarget>> create(Context& ctx, int width, int height);
    /// With `samples` (1 or the context's MSAA count).
    static Result<std::unique_ptr<OffscreenTarget>> create(Context& ctx, int width, int height,
                                                           VkSampleCountFlagBits samples);
    ~OffscreenTarget();
    OffscreenTarget(const OffscreenTarget&) = delete;
    OffscreenTarget& operator=(const OffscreenTarget&) = delete;

    [[nodiscard]] VkRenderPass renderPass() const { return renderPass_; }
    [[nodiscard]] VkSampleCountFlagBits samples() const { return samples_; }
    [[nodiscard]] VkExtent2D extent() const { return extent_; }
    [[nodiscard]] VkFormat colorFormat() const { return format_; }

    /// Begins the render pass over the whole target, clearing colour and depth.
    void beginRenderPass(VkCommandBuffer cmd, const glm::vec4& clearColor = glm::vec4(0, 0, 0, 1)) const;
    /// Ends the render pass and records the copy into the host-visible readback buffer.
    void endRenderPassAndCopy(VkCommandBuffer cmd) const;
    /// The last copied frame as RGBA (call after the submission completed).
    [[nodiscard]] ImageRgba8 readback() const;

private:
    explicit OffscreenTarget(Context& ctx) : ctx_(&ctx) {}
    Context* ctx_;
    VkExtent2D extent_{};
    VkFormat format_ = VK_FORMAT_R8G8B8A8_UNORM;
    VkSampleCountFlagBits samples_ = VK_SAMPLE_COUNT_1_BIT;
    detail::Image msaaColor_; // only when samples_ > 1
    detail::Image depth_;
    detail::Image resolved_;  // the single-sample result
    detail::Buffer readback_;
    VkRenderPass renderPass_ = VK_NULL_HANDLE;
    VkFramebuffer framebuffer_ = VK_NULL_HANDLE;
};

} // namespace precis::render
