#include "gui/Measurements.h"

#include <fmt/core.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace precis::gui {

namespace {
// Cyan: apart from the slice frame colours (red, green, yellow) and the needle verdicts.
constexpr ImU32 kLine = IM_COL32(40, 220, 255, 255);
constexpr ImU32 kPending = IM_COL32(40, 220, 255, 170);
constexpr ImU32 kShadow = IM_COL32(0, 0, 0, 200);

std::size_t pointsFor(MeasureKind kind) {
    return kind == MeasureKind::Angle ? 3 : kind == MeasureKind::Distance ? 2 : 0;
}

/// Lines through the points (a polyline: A-B, or A-vertex-C), their handles and the value.
void drawShape(ImDrawList* dl, const std::vector<ImVec2>& px, const Measurement& m, bool pending,
               const std::optional<ImVec2>& hover) {
    const ImU32 col = pending ? kPending : kLine;
    for (std::size_t i = 0; i + 1 < px.size(); ++i) {
        dl->AddLine(px[i], px[i + 1], kShadow, 3.5f);
        dl->AddLine(px[i], px[i + 1], col, 2.0f);
    }
    if (hover && !px.empty()) dl->AddLine(px.back(), *hover, kPending, 1.0f);
    for (const ImVec2& p : px) {
        dl->AddCircleFilled(p, 4.0f, kShadow, 12);
        dl->AddCircleFilled(p, 3.0f, col, 12);
    }
    if (pending || px.size() != pointsFor(m.kind)) return;
    // The value beside the middle of a distance, or at the vertex of an angle.
    const ImVec2 at = m.kind == MeasureKind::Angle
                          ? px[1]
                          : ImVec2((px[0].x + px[1].x) * 0.5f, (px[0].y + px[1].y) * 0.5f);
    if (m.kind == MeasureKind::Angle) {
        const float a0 = std::atan2(px[0].y - px[1].y, px[0].x - px[1].x);
        float a1 = std::atan2(px[2].y - px[1].y, px[2].x - px[1].x);
        // The arc spans the smaller angle on screen.
        if (a1 - a0 > std::numbers::pi_v<float>) a1 -= 2.0f * std::numbers::pi_v<float>;
        if (a0 - a1 > std::numbers::pi_v<float>) a1 += 2.0f * std::numbers::pi_v<float>;
        dl->PathArcTo(px[1], 18.0f, a0, a1, 16);
        dl->PathStroke(col, 0, 1.5f);
    }
    const std::string text = measurementText(m);
    const ImVec2 pos(at.x + 8, at.y - ImGui::GetFontSize() - 4);
    dl->AddText(ImVec2(pos.x + 1, pos.y + 1), kShadow, text.c_str());
    dl->AddText(pos, IM_COL32(255, 255, 255, 255), text.c_str());
}
} // namespace

std::string_view toString(MeasureKind kind) {
    switch (kind) {
    case MeasureKind::Distance:
        return "distance";
    case MeasureKind::Angle:
        return "angle";
    case MeasureKind::None:
        break;
    }
    return "none";
}

std::optional<MeasureKind> measureKindFromString(std::string_view name) {
    for (MeasureKind k : {MeasureKind::None, MeasureKind::Distance, MeasureKind::Angle})
        if (name == toString(k)) return k;
    return std::nullopt;
}

double measurementValue(const Measurement& m) {
    if (m.points.size() != pointsFor(m.kind)) return 0;
    if (m.kind == MeasureKind::Distance) return glm::length(m.points[1] - m.points[0]);
    const glm::dvec3 u = m.points[0] - m.points[1], v = m.points[2] - m.points[1];
    const double lu = glm::length(u), lv = glm::length(v);
    if (lu < 1e-9 || lv < 1e-9) return 0;
    return std::acos(std::clamp(glm::dot(u, v) / (lu * lv), -1.0, 1.0)) * 180.0 / std::numbers::pi;
}

std::string measurementText(const Measurement& m) {
    // U+00B0 (degree sign) is in the Latin-1 range every ImGui font has.
    return m.kind == MeasureKind::Angle ? fmt::format("{:.1f}\xc2\xb0", measurementValue(m))
                                        : fmt::format("{:.1f} mm", measurementValue(m));
}

void MeasurementTool::setMode(MeasureKind mode) {
    mode_ = mode;
    pending_ = {};
}

bool MeasurementTool::addPoint(const glm::dvec3& lps, std::string_view pane) {
    if (mode_ == MeasureKind::None) return false;
    if (pending_.points.empty()) {
        pending_.kind = mode_;
        pending_.pane = std::string(pane);
    }
    pending_.points.push_back(lps);
    if (pending_.points.size() < pointsFor(pending_.kind)) return false;
    done_.push_back(std::move(pending_));
    pending_ = {};
    return true;
}

bool MeasurementTool::cancel() {
    const bool had = inProgress();
    pending_ = {};
    return had;
}

void MeasurementTool::remove(std::size_t index) {
    if (index < done_.size()) done_.erase(done_.begin() + std::ptrdiff_t(index));
}

void MeasurementTool::clear() {
    done_.clear();
    pending_ = {};
}

void MeasurementTool::drawSlice(ImDrawList* dl, const render::SliceView& view,
                                const render::ViewportRect& r, double bandMm,
                                const std::optional<glm::dvec3>& hoverLps) const {
    auto draw = [&](const Measurement& m, bool pending) {
        std::vector<ImVec2> px;
        for (const auto& p : m.points) {
            if (std::abs(view.distanceMm(p)) > bandMm) return;
            const glm::dvec2 v = view.viewportFromWorld(p, r.width, r.height);
            px.emplace_back(r.x + float(v.x), r.y + float(v.y));
        }
        std::optional<ImVec2> hover;
        if (pending && hoverLps) {
            const glm::dvec2 v = view.viewportFromWorld(*hoverLps, r.width, r.height);
            hover = ImVec2(r.x + float(v.x), r.y + float(v.y));
        }
        drawShape(dl, px, m, pending, hover);
    };
    for (const auto& m : done_)
        draw(m, false);
    if (inProgress()) draw(pending_, true);
}

void MeasurementTool::draw3d(ImDrawList* dl, const glm::dmat4& clipFromWorld,
                             const render::ViewportRect& r) const {
    auto draw = [&](const Measurement& m, bool pending) {
        std::vector<ImVec2> px;
        for (const auto& p : m.points) {
            const glm::dvec4 c = clipFromWorld * glm::dvec4(p, 1.0);
            if (c.w <= 1e-9) return;
            px.emplace_back(r.x + float((c.x / c.w * 0.5 + 0.5) * r.width),
                            r.y + float((c.y / c.w * 0.5 + 0.5) * r.height));
        }
        drawShape(dl, px, m, pending, std::nullopt);
    };
    for (const auto& m : done_)
        draw(m, false);
    if (inProgress()) draw(pending_, true);
}

void MeasurementTool::drawPanel() {
    for (MeasureKind k : {MeasureKind::Distance, MeasureKind::Angle}) {
        const bool active = mode_ == k;
        if (active)
            ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
        if (ImGui::SmallButton(k == MeasureKind::Distance ? "Distance" : "Angle"))
            setMode(active ? MeasureKind::None : k);
        if (active) ImGui::PopStyleColor();
        ImGui::SameLine();
    }
    ImGui::BeginDisabled(done_.empty());
    if (ImGui::SmallButton("Delete all")) clear();
    ImGui::EndDisabled();
    if (mode_ != MeasureKind::None)
        ImGui::TextDisabled("Click %s on a slice or a 3D surface\n(Esc cancels)",
                            mode_ == MeasureKind::Angle ? "three points (vertex second)"
                                                        : "two points");
    if (done_.empty()) {
        ImGui::TextDisabled("No measurements");
        return;
    }
    for (std::size_t i = 0; i < done_.size(); ++i) {
        const auto& m = done_[i];
        ImGui::PushID(int(i));
        if (ImGui::SmallButton("x")) {
            remove(i);
            ImGui::PopID();
            break;
        }
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("Delete this measurement");
        ImGui::SameLine();
        ImGui::Text("%s %s  (%s)", m.kind == MeasureKind::Angle ? "Angle" : "Distance",
                    measurementText(m).c_str(), m.pane.c_str());
        if (ImGui::IsItemHovered()) {
            ImGui::BeginTooltip();
            for (const auto& p : m.points)
                ImGui::Text("L %.1f  P %.1f  S %.1f mm", p.x, p.y, p.z);
            ImGui::EndTooltip();
        }
        ImGui::PopID();
    }
}

} // namespace precis::gui
