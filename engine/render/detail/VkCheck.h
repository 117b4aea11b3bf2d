#pragma once
// VkResult -> precis::Error at the edge of every Vulkan call (DESIGN.md "Errors" 4).
#include "core/Error.h"

#include <vulkan/vulkan.h>

#include <string>
#include <string_view>

namespace precis::render::detail {

std::string_view vkResultName(VkResult result);

/// DeviceError whose user message says what failed; the VkResult goes in the detail.
[[nodiscard]] inline std::unexpected<Error> vkFail(VkResult result, std::string_view what) {
    return fail(ErrorCode::DeviceError, std::string("GPU operation failed: ") + std::string(what),
                std::string(vkResultName(result)));
}

} // namespace precis::render::detail

/// Returns a DeviceError from the enclosing function (Result<...>) when `expr` is not VK_SUCCESS.
#define PRECIS_VK_TRY(expr, what)                                                                  \
    do {                                                                                           \
        const VkResult precisVkResult_ = (expr);                                                   \
        if (precisVkResult_ != VK_SUCCESS) return ::precis::render::detail::vkFail(precisVkResult_, what); \
    } while (0)
