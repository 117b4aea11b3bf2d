#pragma once
// Planar contours of named regions, as DICOM RT Structure Sets carry them: points in LPS mm.
// Produced by engine/dicom (RTSTRUCT reading), turned into labels by engine/anatomy.
#include <glm/glm.hpp>

#include <string>
#include <vector>

namespace precis::model {

struct Contour {
    std::string geometricType; // "CLOSED_PLANAR", "POINT", "OPEN_PLANAR", "OPEN_NONPLANAR"
    std::vector<glm::dvec3> pointsLps;
    std::vector<std::string> referencedSopInstanceUids; // images the contour was drawn on
};

struct ContourRoi {
    int number = 0;              // ROI Number
    std::string name;            // ROI Name
    std::string interpretedType; // RT ROI Interpreted Type ("EXTERNAL", "ORGAN", "PTV", ...)
    glm::vec3 color{1.0f};       // ROI Display Color, 0..1 (display suggestion only)
    std::vector<Contour> contours;
};

struct ContourSet {
    std::string label;                  // Structure Set Label
    std::string studyInstanceUid;
    std::string frameOfReferenceUid;    // the frame the points are in
    std::string referencedSeriesUid;    // the image series the contours were drawn on
    std::vector<std::string> referencedImageUids; // SOP Instance UIDs of that series' images
    std::vector<ContourRoi> rois;
};

} // namespace precis::model
