#pragma once
#include <glm/glm.hpp>
// Move-only owners of Vulkan buffers and images (one allocation each: the renderer holds few,
// large objects). Destruction is immediate; owners whose resources may still be used by frames
// in flight hand them to Context::deferDestroy instead (see release()).
#include "core/Error.h"
#include "render/Context.h"

#include <vulkan/vulkan.h>

#include <functional>

namespace precis::render::detail {

class Buffer {
public:
    Buffer() = default;
    ~Buffer() { reset(); }
    Buffer(Buffer&& o) noexcept { *this = std::move(o); }
    Buffer& operator=(Buffer&& o) noexcept;
    Buffer(const Buffer&) = delete;
    Buffer& operator=(const Buffer&) = delete;

    /// Host-visible buffers are mapped persistently (mapped() != nullptr).
    static Result<Buffer> create(Context& ctx, VkDeviceSize size, VkBufferUsageFlags usage,
                                 VkMemoryPropertyFlags memory);
    [[nodiscard]] VkBuffer handle() const { return buffer_; }
    [[nodiscard]] VkDeviceSize size() const { return size_; }
    [[nodiscard]] void* mapped() const { return mapped_; }
    /// Makes host writes visible / device writes readable for non-coherent memory.
    void flush() const;
    void invalidate() const;
    /// Gives up ownership: a callable destroying the resources (for Context::deferDestroy).
    std::function<void()> release();
    void reset();

private:
    VkDevice device_ = VK_NULL_HANDLE;
    VkBuffer buffer_ = VK_NULL_HANDLE;
    VkDeviceMemory memory_ = VK_NULL_HANDLE;
    VkDeviceSize size_ = 0;
    void* mapped_ = nullptr;
    bool coherent_ = true;
};

class Image {
public:
    Image() = default;
    ~Image() { reset(); }
    Image(Image&& o) noexcept { *this = std::move(o); }
    Image& operator=(Image&& o) noexcept;
    Image(const Image&) = delete;
    Image& operator=(const Image&) = delete;

    /// A 2D device-local image with one mip level and a view over `aspect`.
    static Result<Image> create(Context& ctx, VkExtent2D extent, VkFormat format,
                                VkImageUsageFlags usage, VkSampleCountFlagBits samples,
                                VkImageAspectFlags aspect);
    [[nodiscard]] VkImage handle() const { return image_; }
    [[nodiscard]] VkImageView view() const { return view_; }
    [[nodiscard]] VkFormat format() const { return format_; }
    std::function<void()> release();
    void reset();

private:
    VkDevice device_ = VK_NULL_HANDLE;
    VkImage image_ = VK_NULL_HANDLE;
    VkDeviceMemory memory_ = VK_NULL_HANDLE;
    VkImageView view_ = VK_NULL_HANDLE;
    VkFormat format_ = VK_FORMAT_UNDEFINED;
};

/// The main render pass shared by the offscreen and swapchain targets: colour (multisampled when
/// samples > 1, then resolved into attachment 2) + depth. The single-sample colour (or resolve)
/// ends in `finalLayout` (TRANSFER_SRC for readback, PRESENT_SRC for a swapchain).
Result<VkRenderPass> createMainRenderPass(VkDevice device, VkFormat colorFormat,
                                          VkFormat depthFormat, VkSampleCountFlagBits samples,
                                          VkImageLayout finalLayout);

/// Begins the main render pass (createMainRenderPass) on `framebuffer`, clearing colour (and the
/// MSAA resolve target when `samples` > 1) to `clearColor` and depth to 1.
void beginMainRenderPass(VkCommandBuffer cmd, VkRenderPass renderPass, VkFramebuffer framebuffer,
                         VkExtent2D extent, VkSampleCountFlagBits samples, const glm::vec4& clearColor);

} // namespace precis::render::detail
