#pragma once
// The Vulkan device, apart from any presentation (DESIGN.md: Granite's device/presentation split).
// One instance, one physical device, one logical device and one graphics queue. Works on any
// Vulkan 1.2+ device, lavapipe included. Windows (surfaces, swapchains) are added by the app
// through render/SwapchainTarget.h; this module never sees GLFW.
//
// Failure modes: DeviceError with a user message ("no Vulkan device found; install
// mesa-vulkan-drivers", "validation requested but VK_LAYER_KHRONOS_validation is not installed").
// Threading: a Context is used from one thread at a time, except the validation-message accessors,
// which are thread-safe (the layer may call back from driver threads).
#include "core/Error.h"

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace precis::render {

struct ContextOptions {
    /// Enables VK_LAYER_KHRONOS_validation and a messenger that records every warning and error.
    /// Also enabled when the environment has PRECIS_VK_VALIDATION=1.
    bool validation = false;
    /// Extra instance extensions, e.g. what glfwGetRequiredInstanceExtensions() returns.
    std::vector<std::string> instanceExtensions;
    /// Enables VK_KHR_swapchain on the device (needed by SwapchainTarget).
    bool presentation = false;
};

class Context {
public:
    /// Creates the instance and device. PRECIS_VK_DEVICE=<substring> picks a device by name.
    static Result<std::unique_ptr<Context>> create(const ContextOptions& options);
    ~Context();
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    [[nodiscard]] std::string deviceName() const;
    /// "1.3.230" style.
    [[nodiscard]] std::string deviceApiVersion() const;
    [[nodiscard]] bool validationEnabled() const { return validation_; }
    /// True when created with ContextOptions::presentation (VK_KHR_swapchain enabled).
    [[nodiscard]] bool presentationEnabled() const { return presentation_; }
    /// Validation warnings and errors seen since creation (or since clearValidationMessages()).
    [[nodiscard]] std::size_t validationMessageCount() const;
    [[nodiscard]] std::vector<std::string> validationMessages() const;
    void clearValidationMessages();

    [[nodiscard]] VkInstance instance() const { return instance_; }
    [[nodiscard]] VkPhysicalDevice physicalDevice() const { return physical_; }
    [[nodiscard]] VkDevice device() const { return device_; }
    [[nodiscard]] VkQueue queue() const { return queue_; }
    [[nodiscard]] std::uint32_t queueFamily() const { return queueFamily_; }
    [[nodiscard]] const VkPhysicalDeviceProperties& properties() const { return properties_; }
    /// 4 when colour and depth attachments support it, else 1 (MSAA with resolve).
    [[nodiscard]] VkSampleCountFlagBits msaaSamples() const { return msaaSamples_; }
    [[nodiscard]] VkFormat depthFormat() const { return depthFormat_; }
    /// The independentBlend feature (enabled when the device has it; needed for transparency).
    [[nodiscard]] bool independentBlend() const { return independentBlend_; }
    /// The shaderClipDistance feature (enabled when the device has it; needed for clipping).
    [[nodiscard]] bool clipDistance() const { return clipDistance_; }
    [[nodiscard]] std::optional<std::uint32_t> findMemoryType(std::uint32_t typeBits,
                                                              VkMemoryPropertyFlags flags) const;

    /// Records with `record`, submits, and waits for completion (uploads, offscreen frames).
    Result<void> submitImmediate(const std::function<void(VkCommandBuffer)>& record);
    Result<void> waitIdle();

    // --- Deferred deletion (resources still used by frames in flight) -------------------------
    /// Every queue submission takes the next serial; work with serial s is known complete once
    /// markCompleted(s) was called (after its fence signalled).
    std::uint64_t nextSubmissionSerial() { return ++submittedSerial_; }
    /// Runs the destructions whose resources were last usable by submissions <= serial.
    void markCompleted(std::uint64_t serial);
    /// Destroys later, once all work submitted so far has completed.
    void deferDestroy(std::function<void()> destroy);
    [[nodiscard]] std::size_t pendingDestroyCount() const { return pending_.size(); }

    struct ValidationLog; // shared with the debug callback

private:
    Context() = default;

    VkInstance instance_ = VK_NULL_HANDLE;
    VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
    VkPhysicalDevice physical_ = VK_NULL_HANDLE;
    VkDevice device_ = VK_NULL_HANDLE;
    VkQueue queue_ = VK_NULL_HANDLE;
    std::uint32_t queueFamily_ = 0;
    VkCommandPool immediatePool_ = VK_NULL_HANDLE;
    VkFence immediateFence_ = VK_NULL_HANDLE;
    VkPhysicalDeviceProperties properties_{};
    VkPhysicalDeviceMemoryProperties memory_{};
    VkSampleCountFlagBits msaaSamples_ = VK_SAMPLE_COUNT_1_BIT;
    VkFormat depthFormat_ = VK_FORMAT_D32_SFLOAT;
    bool validation_ = false;
    bool presentation_ = false;
    bool independentBlend_ = false;
    bool clipDistance_ = false;
    std::unique_ptr<ValidationLog> log_;

    struct PendingDestroy {
        std::uint64_t serial;
        std::function<void()> destroy;
    };
    std::deque<PendingDestroy> pending_;
    std::uint64_t submittedSerial_ = 0;
    std::uint64_t completedSerial_ = 0;
};

} // namespace precis::render
