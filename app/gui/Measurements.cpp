#include "gui/Measurements.h"

#include <fmt/core.h>
#include <imgui.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

namespace precis::gui {

namespace {
// Cyan: apart from the slice frame colours (red, green, yellow) and the needle verdicts.
constexpr ImU32 kLine = IM_COL32(40, 220, 255, 255);
constexpr ImU32 kPending = IM_COL32(40, 220, 255, 170);
constexpr ImU32 kShadow = IM_COL32(0, 0, 0, 200);

bool isAngle(const Measurement& m) { return m.kind == model::MeasurementKind::Angle; }

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
    if (pending || px.size() != model::measurementPointCount(m.kind)) return;
    // The value beside the middle of a distance, or at the vertex of an angle.
    const ImVec2 at = isAngle(m) ? px[1]
                          : ImVec2((px[0].x + px[1].x) * 0.5f, (px[0].y + px[1].y) * 0.5f);
    if (isAngle(m)) {
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

std::string measurementText(const Measurement& m) {
    // U+00B0 (degree sign) is in the Latin-1 range every ImGui font has.
    return isAngle(m) ? fmt::format("{:.1f}\xc2\xb0", model::measurementValue(m))
                      : fmt::format("{:.1f} mm", model::measurementValue(m));
}

const char* measurementTitle(const Measurement& m) { return isAngle(m) ? "Angle" : "Distance"; }

void MeasurementTool::setMode(MeasureKind mode) {
    mode_ = mode;
    pending_ = {};
}

std::optional<Measurement> MeasurementTool::addPoint(const glm::dvec3& lps, std::string_view pane) {
    if (mode_ == MeasureKind::None) return std::nullopt;
    if (pending_.pointsLps.empty()) {
        pending_.kind = mode_ == MeasureKind::Angle ? model::MeasurementKind::Angle
                                                    : model::MeasurementKind::Distance;
        pending_.pane = std::string(pane);
    }
    pending_.pointsLps.push_back(lps);
    if (pending_.pointsLps.size() < model::measurementPointCount(pending_.kind)) return std::nullopt;
    return std::exchange(pending_, {});
}

bool MeasurementTool::cancel() {
    const bool had = inProgress();
    pending_ = {};
    return had;
}

void MeasurementTool::drawSlice(ImDrawList* dl, const std::vector<Measurement>& done,
                                const render::SliceView& view, const render::ViewportRect& r,
                                double bandMm,
                                const std::optional<glm::dvec3>& hoverLps) const {
    auto draw = [&](const Measurement& m, bool pending) {
        std::vector<ImVec2> px;
        for (const auto& p : m.pointsLps) {
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
    for (const auto& m : done)
        draw(m, false);
    if (inProgress()) draw(pending_, true);
}

void MeasurementTool::draw3d(ImDrawList* dl, const std::vector<Measurement>& done,
                             const glm::dmat4& clipFromWorld,
                             const render::ViewportRect& r) const {
    auto draw = [&](const Measurement& m, bool pending) {
        std::vector<ImVec2> px;
        for (const auto& p : m.pointsLps) {
            const glm::dvec4 c = clipFromWorld * glm::dvec4(p, 1.0);
            if (c.w <= 1e-9) return;
            px.emplace_back(r.x + float((c.x / c.w * 0.5 + 0.5) * r.width),
                            r.y + float((c.y / c.w * 0.5 + 0.5) * r.height));
        }
        drawShape(dl, px, m, pending, std::nullopt);
    };
    for (const auto& m : done)
        draw(m, false);
    if (inProgress()) draw(pending_, true);
}

MeasurementTool::PanelRequest MeasurementTool::drawPanel(const std::vector<Measurement>& done) {
    PanelRequest request;
    for (MeasureKind k : {MeasureKind::Distance, MeasureKind::Angle}) {
        const bool active = mode_ == k;
        if (active)
            ImGui::PushStyleColor(ImGuiCol_Button, ImGui::GetStyleColorVec4(ImGuiCol_ButtonActive));
        if (ImGui::SmallButton(k == MeasureKind::Distance ? "Distance" : "Angle"))
            setMode(active ? MeasureKind::None : k);
        if (active) ImGui::PopStyleColor();
        ImGui::SameLine();
    }
    ImGui::BeginDisabled(done.empty());
    if (ImGui::SmallButton("Delete all")) request.removeAll = true;
    ImGui::EndDisabled();
    if (mode_ != MeasureKind::None)
        ImGui::TextDisabled("Click %s on a slice or a 3D surface\n(Esc cancels)",
                            mode_ == MeasureKind::Angle ? "three points (vertex second)"
                                                        : "two points");
    if (done.empty()) {
        ImGui::TextDisabled("No measurements");
        return request;
    }
    for (std::size_t i = 0; i < done.size(); ++i) {
        const auto& m = done[i];
        ImGui::PushID(int(i));
        if (ImGui::SmallButton("x")) request.remove = i;
        if (ImGui::IsItemHovered()) ImGui::SetTooltip("Delete this measurement");
        ImGui::SameLine();
        ImGui::Text("%s %s  (%s)", measurementTitle(m), measurementText(m).c_str(),
                    m.pane.c_str());
        if (ImGui::IsItemHovered()) {
            ImGui::BeginTooltip();
            for (const auto& p : m.pointsLps)
                ImGui::Text("L %.1f  P %.1f  S %.1f mm", p.x, p.y, p.z);
            ImGui::EndTooltip();
        }
        ImGui::PopID();
    }
    return request;
}

} // namespace precis::gui
