#pragma once
// A 2D slice view of a volume: a plane in patient LPS (centre + in-plane screen axes) and a zoom.
// Screen conventions are radiological:
//   axial    seen from the feet: patient right on screen left, anterior at the top
//   coronal  seen from the front: patient right on screen left, superior at the top
//   sagittal seen from the patient's left: anterior on screen left, superior at the top
//   oblique  any plane, e.g. "down the needle" (normal along the needle)
// The plane is in the world frame, not the volume's index frame, so an axial view of a volume
// with an oblique direction matrix is a true reslice. Units: mm; viewport coordinates are pixels
// with the origin at the top-left.
#include "model/ImageGeometry.h"

#include <glm/glm.hpp>

#include <optional>
#include <string_view>

namespace precis::render {

enum class SliceOrientation { Axial, Coronal, Sagittal, Oblique };
std::string_view toString(SliceOrientation orientation); // "axial", "coronal", ...

/// Display window in HU: grey = (value - (center - width/2)) / width, clamped to 0..1.
struct WindowLevel {
    double centerHu = 40;
    double widthHu = 400;
};
/// Presets (HU). Bone W 2000 / L 400, soft tissue W 400 / L 40, lung W 1500 / L -600: the usual
/// radiology values (e.g. Radiopaedia's "windowing (CT)").
inline constexpr WindowLevel kBoneWindow{400, 2000};
inline constexpr WindowLevel kSoftTissueWindow{40, 400};
inline constexpr WindowLevel kLungWindow{-600, 1500};
/// "bone", "soft-tissue", "lung".
std::optional<WindowLevel> windowLevelPreset(std::string_view name);

/// How a slice is shown: window and label overlay (display state, from the app's view state).
struct SliceDisplay {
    WindowLevel window = kSoftTissueWindow;
    float labelOpacity = 0.45f; // multiplies the palette's per-label opacity; 0: no overlay
};

struct SliceView {
    SliceOrientation orientation = SliceOrientation::Axial;
    glm::dvec3 centerLps{0.0}; // the point at the viewport centre (on the plane)
    glm::dvec3 rightLps{1, 0, 0}; // unit, screen right
    glm::dvec3 upLps{0, -1, 0};   // unit, screen up, orthogonal to rightLps
    double heightMm = 300;        // visible height of the viewport (zoom)

    /// The standard view through the volume's centre, zoomed so the volume fits a viewport of
    /// the given width/height ratio.
    static SliceView standard(SliceOrientation orientation, const model::ImageGeometry& geometry,
                              double aspect = 1.0);
    /// An oblique plane through `centerLps` with normal `normalLps` (towards the viewer); screen
    /// up is `upHintLps` made orthogonal (any perpendicular when parallel to the normal).
    static SliceView oblique(const glm::dvec3& centerLps, const glm::dvec3& normalLps,
                             const glm::dvec3& upHintLps, double heightMm);

    /// Unit normal pointing towards the viewer (right x up).
    [[nodiscard]] glm::dvec3 normal() const { return glm::cross(rightLps, upLps); }
    [[nodiscard]] double mmPerPixel(double viewportHeightPx) const {
        return heightMm / (viewportHeightPx > 0 ? viewportHeightPx : 1.0);
    }
    /// LPS point under viewport pixel (x, y) (pixel centres at +0.5) of a width x height viewport.
    [[nodiscard]] glm::dvec3 worldFromViewport(double x, double y, double width, double height) const;
    /// Viewport pixel of an LPS point projected onto the plane (x right, y down).
    [[nodiscard]] glm::dvec2 viewportFromWorld(const glm::dvec3& lps, double width, double height) const;
    /// Signed distance of a point from the plane along normal() (mm).
    [[nodiscard]] double distanceMm(const glm::dvec3& lps) const {
        return glm::dot(lps - centerLps, normal());
    }

    /// Moves the plane along its normal by `mm` (positive: towards the viewer).
    void moveAlongNormal(double mm) { centerLps += normal() * mm; }
    /// Moves the view centre in the plane by fractions of the viewport height (drag follows the
    /// mouse: +dx moves the image right).
    void pan(double dxFraction, double dyFraction);
    /// Magnifies by `factor` (> 1: closer).
    void zoom(double factor);
};

/// Distance between neighbouring slices of `geometry` along `normal` (mm): the spacing along an
/// axis the normal follows, and in between for oblique normals.
double sliceStepMm(const model::ImageGeometry& geometry, const glm::dvec3& normalLps);

/// The rectangle of the plane (in-plane offsets from centerLps, mm) covering the projection of
/// the volume's bounds: what a slice plane shows in the 3D view.
struct PlaneRect {
    glm::dvec2 minMm{0.0}, maxMm{0.0};
};
PlaneRect planeRectCovering(const SliceView& view, const model::ImageGeometry& geometry);

} // namespace precis::render
