#include "export/PlanReport.h"

#include "core/AtomicFile.h"
#include "model/TrajectoryColor.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <fmt/core.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <memory>
#include <numbers>
#include <optional>

namespace precis::exporting {
namespace {

// A4 portrait in PostScript points.
constexpr double kPageW = 595.28, kPageH = 841.89;
constexpr double kMargin = 48.0;
constexpr double kTop = 66.0;             // below the page header
constexpr double kBottom = kPageH - 54.0; // above the page footer
constexpr double kWidth = kPageW - 2 * kMargin;
constexpr const char* kFont = "DejaVu Sans";
constexpr double kBody = 9.5, kSmall = 8.0;

struct Rgb {
    double r = 0, g = 0, b = 0;
};
constexpr Rgb kInk{0.1, 0.1, 0.12}, kMuted{0.4, 0.4, 0.45}, kRule{0.75, 0.75, 0.78},
    kHeaderFill{0.92, 0.93, 0.95};

// A null verdict: not evaluated. (A pointer rather than std::optional: GCC 12 warns about
// optional<enum> as maybe uninitialised.)
Rgb verdictColor(const planning::Verdict* v) {
    if (!v) return {0.55, 0.55, 0.58};
    switch (*v) {
    case planning::Verdict::Green:
        return {0.13, 0.55, 0.27};
    case planning::Verdict::Amber:
        return {0.85, 0.55, 0.05};
    case planning::Verdict::Red:
        return {0.78, 0.13, 0.13};
    }
    return {};
}

std::string verdictText(const planning::Verdict* v) {
    if (!v) return "not evaluated";
    switch (*v) {
    case planning::Verdict::Green:
        return "GREEN";
    case planning::Verdict::Amber:
        return "AMBER";
    case planning::Verdict::Red:
        return "RED";
    }
    return "?";
}

std::string mm(double v) {
    return fmt::format("{:.1f}", v);
}
std::string lpsText(const glm::dvec3& p) {
    return fmt::format("({:.1f}, {:.1f}, {:.1f}) mm", p.x, p.y, p.z);
}

struct Column {
    std::string title;
    double width = 0; // points
    bool right = false;
};

struct PageFrame {
    std::string title;  // left of the header
    std::string right;  // right of the header
    std::string footer; // left of the footer
    bool deidentified = false;
};

/// Cursor-based page layout on a cairo context: text, wrapped paragraphs, tables (header repeated
/// after a page break), images. Breaks pages itself and draws header and footer on each.
class Layout {
public:
    Layout(cairo_t* cr, PageFrame frame, int totalPages)
        : cr_(cr), frame_(std::move(frame)), total_(totalPages) {
        startPage();
    }

    [[nodiscard]] int pages() const { return page_; }
    [[nodiscard]] double y() const { return y_; }

    void finish() { drawFooter(); }

    void ensure(double height) {
        if (y_ + height > kBottom) newPage();
    }
    void space(double h) { y_ += h; }

    void heading(const std::string& text, double size, const Rgb* chip = nullptr) {
        ensure(size * 2.6 + 40); // keep a heading with what follows it
        y_ += size * 0.6;
        double x = kMargin;
        if (chip) {
            fill(*chip);
            cairo_rectangle(cr_, x, y_ - size * 0.05, size * 0.8, size * 0.8);
            cairo_fill(cr_);
            x += size * 1.2;
        }
        font(size, true);
        color(kInk);
        showAt(x, y_ + size * 0.8, fitWidth(text, kMargin + kWidth - x));
        y_ += size * 1.5;
    }

    void rule() {
        color(kRule);
        cairo_set_line_width(cr_, 0.6);
        cairo_move_to(cr_, kMargin, y_);
        cairo_line_to(cr_, kMargin + kWidth, y_);
        cairo_stroke(cr_);
        y_ += 6;
    }

    /// Wrapped text at the full width (or from `indent`).
    void paragraph(const std::string& text, double size = kBody, Rgb ink = kInk, bool bold = false,
                   double indent = 0) {
        font(size, bold);
        for (const std::string& line : wrap(text, kWidth - indent)) {
            ensure(size * 1.4);
            color(ink);
            showAt(kMargin + indent, y_ + size, line);
            y_ += size * 1.4;
        }
    }

    /// "key   value" rows; values wrap.
    void keyValues(const std::vector<std::pair<std::string, std::string>>& rows) {
        constexpr double keyW = 132;
        for (const auto& [k, v] : rows) {
            font(kBody, false);
            const auto lines = wrap(v, kWidth - keyW);
            ensure(kBody * 1.45 * static_cast<double>(std::max<std::size_t>(1, lines.size())));
            color(kMuted);
            showAt(kMargin, y_ + kBody, k);
            color(kInk);
            for (const auto& line : lines) {
                showAt(kMargin + keyW, y_ + kBody, line);
                y_ += kBody * 1.45;
            }
            if (lines.empty()) y_ += kBody * 1.45;
        }
    }

    /// A table; `rowColors` (optional, per row) fills a chip in the first column, `lastInk`
    /// (optional, per row) colours the last column's text.
    void table(const std::vector<Column>& cols, const std::vector<std::vector<std::string>>& rows,
               const std::vector<std::optional<Rgb>>& rowColors = {},
               const std::vector<Rgb>& lastInk = {}) {
        constexpr double rowH = kBody * 1.65;
        ensure(rowH * 3); // the header never ends a page alone
        tableHeader(cols, rowH);
        for (std::size_t r = 0; r < rows.size(); ++r) {
            if (y_ + rowH > kBottom) {
                newPage();
                tableHeader(cols, rowH);
            }
            double x = kMargin;
            font(kBody, false);
            for (std::size_t c = 0; c < cols.size() && c < rows[r].size(); ++c) {
                double textX = x + 3;
                if (c == 0 && r < rowColors.size() && rowColors[r]) {
                    fill(*rowColors[r]);
                    cairo_rectangle(cr_, x + 3, y_ + rowH * 0.22, rowH * 0.56, rowH * 0.56);
                    cairo_fill(cr_);
                    textX += rowH * 0.56 + 4;
                }
                const bool last = c + 1 == cols.size() && r < lastInk.size();
                color(last ? lastInk[r] : kInk);
                if (last) font(kBody, true);
                const std::string s = fitWidth(rows[r][c], x + cols[c].width - 3 - textX);
                if (cols[c].right) textX = x + cols[c].width - 3 - textWidth(s);
                showAt(textX, y_ + rowH * 0.68, s);
                x += cols[c].width;
            }
            y_ += rowH;
            color(kRule);
            cairo_set_line_width(cr_, 0.3);
            cairo_move_to(cr_, kMargin, y_);
            cairo_line_to(cr_, kMargin + tableWidth(cols), y_);
            cairo_stroke(cr_);
        }
        y_ += 6;
    }

    /// A bold caption kept on the same page as the table (header and first rows) after it.
    void tableTitle(const std::string& text) {
        ensure(kBody * 1.4 + kBody * 1.65 * 3);
        paragraph(text, kBody, kInk, true);
    }

    /// A coloured box with a bold title and wrapped lines inside.
    void box(const Rgb& accent, const std::string& title, const std::vector<std::string>& lines) {
        font(kBody, false);
        std::vector<std::string> wrapped;
        for (const auto& l : lines)
            for (auto& w : wrap("• " + l, kWidth - 20))
                wrapped.push_back(std::move(w));
        const double h = 8 + kBody * 1.6 + static_cast<double>(wrapped.size()) * kBody * 1.4 + 6;
        ensure(std::min(h, kBottom - kTop));
        const double top = y_;
        cairo_set_source_rgba(cr_, accent.r, accent.g, accent.b, 0.10);
        cairo_rectangle(cr_, kMargin, top, kWidth, std::min(h, kBottom - top));
        cairo_fill(cr_);
        fill(accent);
        cairo_rectangle(cr_, kMargin, top, 4, std::min(h, kBottom - top));
        cairo_fill(cr_);
        font(kBody + 1, true);
        color(accent);
        showAt(kMargin + 12, top + 6 + kBody + 1, title);
        y_ = top + 8 + kBody * 1.6;
        font(kBody, false);
        for (const auto& l : wrapped) {
            ensure(kBody * 1.4);
            color(kInk);
            showAt(kMargin + 12, y_ + kBody, l);
            y_ += kBody * 1.4;
        }
        y_ += 10;
    }

    /// The image scaled to fit the width and at most `maxHeight`, centred, caption below.
    void image(cairo_surface_t* img, const std::string& caption, double maxHeight) {
        const double w = cairo_image_surface_get_width(img),
                     h = cairo_image_surface_get_height(img);
        double scale = std::min(kWidth / w, maxHeight / h);
        // Shrink a little rather than leave most of a page empty.
        const double room = kBottom - y_ - kSmall * 3;
        if (h * scale > room && room >= 0.7 * h * scale) scale = room / h;
        const double dw = w * scale, dh = h * scale;
        ensure(dh + kSmall * 3);
        const double x = kMargin + (kWidth - dw) / 2;
        cairo_save(cr_);
        cairo_translate(cr_, x, y_);
        cairo_scale(cr_, scale, scale);
        cairo_set_source_surface(cr_, img, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr_), CAIRO_FILTER_GOOD);
        cairo_paint(cr_);
        cairo_restore(cr_);
        color(kRule);
        cairo_set_line_width(cr_, 0.5);
        cairo_rectangle(cr_, x, y_, dw, dh);
        cairo_stroke(cr_);
        y_ += dh + 4;
        font(kSmall, false);
        color(kMuted);
        const std::string c = fitWidth(caption, kWidth);
        showAt(kMargin + (kWidth - textWidth(c)) / 2, y_ + kSmall, c);
        y_ += kSmall * 2.2;
    }

private:
    void startPage() {
        ++page_;
        y_ = kTop;
        font(kSmall, true);
        color(kMuted);
        showAt(kMargin, 36, frame_.title);
        font(kSmall, false);
        const std::string r = fitWidth(frame_.right, kWidth * 0.6);
        showAt(kMargin + kWidth - textWidth(r), 36, r);
        color(kRule);
        cairo_set_line_width(cr_, 0.6);
        cairo_move_to(cr_, kMargin, 42);
        cairo_line_to(cr_, kMargin + kWidth, 42);
        cairo_stroke(cr_);
        if (frame_.deidentified) {
            font(kSmall, true);
            color({0.78, 0.13, 0.13});
            const std::string d = "DE-IDENTIFIED — teaching copy";
            showAt(kMargin + (kWidth - textWidth(d)) / 2, 36, d);
        }
    }

    void drawFooter() {
        color(kRule);
        cairo_set_line_width(cr_, 0.6);
        cairo_move_to(cr_, kMargin, kPageH - 40);
        cairo_line_to(cr_, kMargin + kWidth, kPageH - 40);
        cairo_stroke(cr_);
        font(kSmall, false);
        color(kMuted);
        showAt(kMargin, kPageH - 28, fitWidth(frame_.footer, kWidth * 0.7));
        const std::string p = total_ > 0 ? fmt::format("Page {} of {}", page_, total_)
                                         : fmt::format("Page {}", page_);
        showAt(kMargin + kWidth - textWidth(p), kPageH - 28, p);
    }

    void newPage() {
        drawFooter();
        cairo_show_page(cr_);
        startPage();
    }

    void tableHeader(const std::vector<Column>& cols, double rowH) {
        fill(kHeaderFill);
        cairo_rectangle(cr_, kMargin, y_, tableWidth(cols), rowH);
        cairo_fill(cr_);
        font(kSmall + 0.5, true);
        color(kInk);
        double x = kMargin;
        for (const auto& c : cols) {
            const std::string s = fitWidth(c.title, c.width - 6);
            const double tx = c.right ? x + c.width - 3 - textWidth(s) : x + 3;
            showAt(tx, y_ + rowH * 0.68, s);
            x += c.width;
        }
        y_ += rowH;
    }

    static double tableWidth(const std::vector<Column>& cols) {
        double w = 0;
        for (const auto& c : cols)
            w += c.width;
        return w;
    }

    void font(double size, bool bold) {
        cairo_select_font_face(cr_, kFont, CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr_, size);
    }
    void color(const Rgb& c) { cairo_set_source_rgb(cr_, c.r, c.g, c.b); }
    void fill(const Rgb& c) { color(c); }

    void showAt(double x, double baseline, const std::string& s) {
        cairo_move_to(cr_, x, baseline);
        cairo_show_text(cr_, s.c_str());
    }

    double textWidth(const std::string& s) {
        cairo_text_extents_t e;
        cairo_text_extents(cr_, s.c_str(), &e);
        return e.x_advance;
    }

    /// Byte length of the UTF-8 sequence starting with `c`.
    static std::size_t seqLen(unsigned char c) {
        return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    }

    /// `s` cut (with an ellipsis) to fit `width` in the current font.
    std::string fitWidth(const std::string& s, double width) {
        if (textWidth(s) <= width) return s;
        std::string out;
        for (std::size_t i = 0; i < s.size();) {
            const std::size_t n = std::min(seqLen(static_cast<unsigned char>(s[i])), s.size() - i);
            if (textWidth(out + s.substr(i, n) + "…") > width) break;
            out += s.substr(i, n);
            i += n;
        }
        return out + "…";
    }

    /// Greedy word wrap to `width`; a word wider than a line is cut with an ellipsis.
    std::vector<std::string> wrap(const std::string& text, double width) {
        std::vector<std::string> lines;
        std::size_t start = 0;
        while (start <= text.size()) {
            const std::size_t nl = text.find('\n', start);
            const std::string para = text.substr(start, nl == std::string::npos ? nl : nl - start);
            std::string line;
            std::size_t i = 0;
            while (i < para.size()) {
                const std::size_t sp = para.find(' ', i);
                const std::string word = para.substr(i, sp == std::string::npos ? sp : sp - i);
                i = sp == std::string::npos ? para.size() : sp + 1;
                const std::string candidate = line.empty() ? word : line + " " + word;
                if (textWidth(candidate) <= width || line.empty()) {
                    line = textWidth(candidate) <= width ? candidate : fitWidth(candidate, width);
                } else {
                    lines.push_back(line);
                    line = textWidth(word) <= width ? word : fitWidth(word, width);
                }
            }
            lines.push_back(line);
            if (nl == std::string::npos) break;
            start = nl + 1;
        }
        return lines;
    }

    cairo_t* cr_;
    PageFrame frame_;
    int total_ = 0;
    int page_ = 0;
    double y_ = kTop;
};

double degrees(double radians) {
    return radians * 180.0 / std::numbers::pi;
}

std::vector<glm::dvec3> plannedPath(const model::Trajectory& t) {
    std::vector<glm::dvec3> p{t.entryLps};
    p.insert(p.end(), t.controlPointsLps.begin(), t.controlPointsLps.end());
    p.push_back(t.targetLps);
    return p;
}

double pathLengthMm(const std::vector<glm::dvec3>& p) {
    double l = 0;
    for (std::size_t i = 1; i < p.size(); ++i)
        l += glm::length(p[i] - p[i - 1]);
    return l;
}

const planning::TrajectoryEvaluation* findEvaluation(const planning::PlanEvaluation* e,
                                                     const std::string& name) {
    if (!e) return nullptr;
    for (const auto& t : e->trajectories)
        if (t.name == name) return &t;
    return nullptr;
}

std::string today() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    localtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

struct Images {
    std::vector<std::pair<cairo_surface_t*, std::string>> loaded;
    ~Images() {
        for (auto& [s, c] : loaded)
            cairo_surface_destroy(s);
    }
};

struct Input {
    const model::Plan& plan;
    const model::DeviceCatalog& catalog;
    const planning::PlanEvaluation* evaluation;
    const ReportOptions& options;
    const Images& images;
    std::string date;
};

std::string collisionsNote(bool evaluated) {
    return evaluated ? "none" : "not evaluated";
}

/// Draws the whole report; returns the number of pages.
int render(cairo_t* cr, const Input& in, int totalPages) {
    const model::Plan& plan = in.plan;
    const bool deid = in.options.deidentify;
    PageFrame frame;
    frame.title = "Precis plan report";
    frame.right = plan.name;
    frame.footer = in.options.generator + " — planning aid: check every trajectory on the images";
    frame.deidentified = deid;
    Layout doc(cr, frame, totalPages);

    doc.heading(plan.name.empty() ? "Plan report" : "Plan report: " + plan.name, 17);
    doc.rule();

    doc.heading("Patient and series", 12.5);
    std::vector<std::pair<std::string, std::string>> who;
    if (deid) {
        who.push_back({"Patient", "de-identified (teaching copy)"});
        who.push_back({"Left out", "patient name and ID, report date, UIDs, series folder, notes"});
    } else {
        const auto& s = plan.series;
        who.push_back({"Patient name", s.patientName.empty() ? "—" : s.patientName});
        who.push_back({"Patient ID", s.patientId.empty() ? "—" : s.patientId});
        who.push_back(
            {"Series Instance UID", s.seriesInstanceUid.empty() ? "—" : s.seriesInstanceUid});
        who.push_back(
            {"Study Instance UID", s.studyInstanceUid.empty() ? "—" : s.studyInstanceUid});
        who.push_back(
            {"Frame of Reference", s.frameOfReferenceUid.empty() ? "—" : s.frameOfReferenceUid});
        who.push_back({"Series folder", s.path.empty() ? "—" : s.path});
        who.push_back({"Report date", in.date});
    }
    who.push_back({"Coordinates", "DICOM patient LPS, millimetres (+x left, +y posterior, "
                                  "+z superior)"});
    who.push_back({"Evaluation", in.evaluation ? "collisions and clearances computed on the "
                                                 "case's structures"
                                               : "not evaluated (no safety scene was given)"});
    doc.keyValues(who);
    doc.space(6);

    doc.heading("Summary", 12.5);
    if (plan.trajectories.empty()) {
        doc.paragraph("The plan has no trajectories.");
    } else {
        std::vector<std::vector<std::string>> rows;
        std::vector<std::optional<Rgb>> chips;
        std::vector<Rgb> verdictInk;
        for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
            const auto& t = plan.trajectories[i];
            const auto* ev = findEvaluation(in.evaluation, t.name);
            const double len = ev ? ev->lengthMm : pathLengthMm(plannedPath(t));
            const planning::Verdict* v = ev ? &ev->verdict : nullptr;
            rows.push_back(
                {fmt::format("{}. {}", i + 1, t.name), t.deviceId, mm(len), verdictText(v)});
            verdictInk.push_back(verdictColor(v));
            const auto& c = model::trajectoryColor(i);
            chips.push_back(Rgb{c[0] / 255.0, c[1] / 255.0, c[2] / 255.0});
        }
        doc.table(
            {{"Trajectory", 225}, {"Device", 120}, {"Length mm", 70, true}, {"Verdict", 84, true}},
            rows, chips, verdictInk);
    }
    if (in.evaluation && !in.evaluation->conflicts.empty()) {
        doc.tableTitle("Device conflicts (shafts closer than " + mm(plan.safety.deviceConflictMm) +
                       " mm):");
        std::vector<std::vector<std::string>> rows;
        for (const auto& c : in.evaluation->conflicts)
            rows.push_back({c.first, c.second, mm(c.distanceMm), lpsText(c.pointLps)});
        doc.table({{"Device", 140},
                   {"Device", 140},
                   {"Distance mm", 70, true},
                   {"Closest point (LPS)", 149}},
                  rows);
    }
    doc.paragraph("Simulated coverage (RF lesion, stimulation field, injectate spread): not "
                  "available in this version of Precis.",
                  kSmall, kMuted);
    if (!deid && !plan.notes.empty()) {
        doc.space(4);
        doc.heading("Notes", 12.5);
        doc.paragraph(plan.notes);
    }

    for (std::size_t i = 0; i < plan.trajectories.size(); ++i) {
        const model::Trajectory& t = plan.trajectories[i];
        const auto* ev = findEvaluation(in.evaluation, t.name);
        const model::Device* device = in.catalog.find(t.deviceId);
        const auto& c = model::trajectoryColor(i);
        const Rgb chip{c[0] / 255.0, c[1] / 255.0, c[2] / 255.0};
        doc.space(8);
        doc.heading(fmt::format("{}. {}", i + 1, t.name), 13, &chip);
        doc.rule();

        std::vector<std::pair<std::string, std::string>> kv;
        std::string what = t.procedure;
        if (!t.level.empty()) what += ", " + t.level;
        if (!t.side.empty()) what += ", " + t.side;
        kv.push_back({"Procedure", what});
        if (device) {
            std::string d =
                fmt::format("{} ({}); outer diameter {:.2f} mm, usable length {} mm", device->name,
                            device->id, device->outerDiameterMm, mm(device->usableLengthMm));
            if (device->activeTipMm > 0)
                d += fmt::format(", active tip {} mm", mm(device->activeTipMm));
            kv.push_back({"Device", d});
        } else {
            kv.push_back({"Device", t.deviceId + " (not in the device catalogue)"});
        }
        kv.push_back({"Entry (LPS)", lpsText(t.entryLps)});
        kv.push_back({"Target (LPS)", lpsText(t.targetLps)});
        for (std::size_t k = 0; k < t.controlPointsLps.size(); ++k)
            kv.push_back({fmt::format("Control point {}", k + 1), lpsText(t.controlPointsLps[k])});
        if (ev && glm::length(ev->tipLps - t.targetLps) > 0.05)
            kv.push_back({"Tip (LPS)", lpsText(ev->tipLps)});
        const auto path = plannedPath(t);
        if (ev) {
            kv.push_back({"Length", fmt::format("{} mm entry to tip (device usable length {} mm)",
                                                mm(ev->lengthMm), mm(ev->usableLengthMm))});
            std::string angles = fmt::format("{:.1f}° to the axial plane, {:.1f}° to the sagittal "
                                             "plane",
                                             ev->angleToAxialDeg, ev->angleToSagittalDeg);
            if (ev->angleToViewDeg)
                angles += fmt::format(", {:.1f}° to the C-arm beam", *ev->angleToViewDeg);
            kv.push_back({"Angles", angles});
        } else {
            kv.push_back({"Length", mm(pathLengthMm(path)) + " mm entry to target"});
            // As planning::evaluateTrajectory measures them: of the insertion (the path's first
            // segment); the angle a direction makes with a plane is the arcsine of its component
            // along the plane's normal.
            const glm::dvec3 d = glm::normalize(path[1] - path[0]);
            kv.push_back(
                {"Angles", fmt::format("{:.1f}° to the axial plane, {:.1f}° to the sagittal plane "
                                       "(of the insertion)",
                                       degrees(std::asin(std::min(1.0, std::abs(d.z)))),
                                       degrees(std::asin(std::min(1.0, std::abs(d.x)))))});
        }
        if (t.insertionDepthMm > 0)
            kv.push_back({"Insertion depth", mm(t.insertionDepthMm) + " mm from the entry"});
        if (t.bevelRotationDeg != 0)
            kv.push_back({"Bevel", fmt::format("{:.0f}° from posterior", t.bevelRotationDeg)});
        if (!t.intendedContact.empty()) {
            std::string s;
            for (const auto& n : t.intendedContact)
                s += (s.empty() ? "" : ", ") + n;
            kv.push_back({"Intended contact", s});
        }
        doc.keyValues(kv);
        doc.space(4);

        const planning::Verdict* verdict = ev ? &ev->verdict : nullptr;
        std::vector<std::string> lines;
        if (ev) {
            lines = ev->reasons;
            for (const auto& w : ev->warnings)
                lines.push_back("Warning: " + w);
            if (lines.empty()) lines.push_back("no finding");
            lines.push_back(fmt::format("risk score {:.2f}", ev->riskScore));
        } else {
            lines.push_back("This trajectory was not evaluated for this report: no collision or "
                            "clearance was computed.");
        }
        doc.box(verdictColor(verdict), "Verdict: " + verdictText(verdict), lines);

        doc.tableTitle("Collisions (structures the shaft passes through)");
        if (ev && !ev->collisions.empty()) {
            std::vector<std::vector<std::string>> rows;
            for (const auto& col : ev->collisions)
                rows.push_back({col.structure, std::string(model::toString(col.kind)),
                                std::string(model::toString(col.role)), mm(col.entryDepthMm),
                                mm(col.exitDepthMm)});
            doc.table({{"Structure", 170},
                       {"Kind", 80},
                       {"Role", 89},
                       {"From mm", 80, true},
                       {"To mm", 80, true}},
                      rows);
        } else {
            doc.paragraph(collisionsNote(ev != nullptr), kBody, kMuted, false, 12);
        }
        if (ev && !ev->intendedContacts.empty()) {
            doc.tableTitle("Intended contact at the tip");
            std::vector<std::vector<std::string>> rows;
            for (const auto& col : ev->intendedContacts)
                rows.push_back({col.structure, std::string(model::toString(col.kind)),
                                mm(col.entryDepthMm), mm(col.exitDepthMm)});
            doc.table(
                {{"Structure", 170}, {"Kind", 169}, {"From mm", 80, true}, {"To mm", 80, true}},
                rows);
        }
        doc.tableTitle("Clearances (closest approach of the shaft's surface)");
        if (ev && !ev->clearances.empty()) {
            std::vector<std::vector<std::string>> rows;
            for (const auto& cl : ev->clearances)
                rows.push_back({cl.structure, std::string(model::toString(cl.role)), mm(cl.minMm),
                                mm(cl.depthMm), lpsText(cl.pointLps)});
            doc.table({{"Structure", 130},
                       {"Role", 70},
                       {"Min mm", 55, true},
                       {"Depth mm", 60, true},
                       {"Closest point (LPS)", 184}},
                      rows);
        } else {
            doc.paragraph(ev ? "no structure of concern within the reporting distance"
                             : "not evaluated",
                          kBody, kMuted, false, 12);
        }
    }

    if (!plan.landmarks.empty()) {
        doc.space(8);
        doc.heading("Landmarks", 12.5);
        std::vector<std::vector<std::string>> rows;
        for (const auto& l : plan.landmarks) {
            std::string where = l.level;
            if (!l.side.empty()) where += (where.empty() ? "" : " ") + l.side;
            rows.push_back({l.name, l.kind, where, lpsText(l.lps)});
        }
        doc.table({{"Landmark", 190}, {"Kind", 120}, {"Level, side", 70}, {"LPS", 119}}, rows);
    }

    if (!plan.measurements.empty()) {
        doc.space(8);
        doc.heading("Measurements", 12.5);
        std::vector<std::vector<std::string>> rows;
        for (const auto& m : plan.measurements) {
            const bool angle = m.kind == model::MeasurementKind::Angle;
            const double value = model::measurementValue(m);
            std::string points;
            for (const glm::dvec3& p : m.pointsLps)
                points += fmt::format("{}({:.1f}, {:.1f}, {:.1f})", points.empty() ? "" : " ", p.x,
                                      p.y, p.z);
            rows.push_back({angle ? "Angle (vertex second)" : "Distance",
                            angle ? fmt::format("{:.1f}°", value) : fmt::format("{:.1f} mm", value),
                            m.pane, points});
        }
        doc.table({{"Measurement", 115}, {"Value", 55}, {"Pane", 50}, {"Points, LPS mm", 279}}, rows);
    }

    doc.space(8);
    doc.heading("Images", 12.5);
    doc.rule();
    doc.paragraph("Simulated fluoroscopy view: not available in this version of Precis.", kSmall,
                  kMuted);
    doc.space(4);
    if (in.images.loaded.empty())
        doc.paragraph("No images were given for this report.", kBody, kMuted);
    for (const auto& [surface, caption] : in.images.loaded)
        doc.image(surface, caption, (kBottom - kTop) * 0.42); // two to a page

    doc.finish();
    return doc.pages();
}

cairo_status_t appendToString(void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
}

/// Renders into a PDF held in memory; the page count, or a cairo error.
Result<int> renderPdf(const Input& in, int totalPages, std::string& out) {
    cairo_surface_t* surface =
        cairo_pdf_surface_create_for_stream(appendToString, &out, kPageW, kPageH);
    std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> s(surface,
                                                                         &cairo_surface_destroy);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, "Precis plan report");
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR,
                                   in.options.generator.c_str());
    // cairo stamps the creation time into the document information; a teaching copy carries no
    // date at all (an empty value makes cairo leave the entry out).
    if (in.options.deidentify)
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATE_DATE, "");
    cairo_t* cr = cairo_create(surface);
    std::unique_ptr<cairo_t, decltype(&cairo_destroy)> c(cr, &cairo_destroy);
    const int pages = render(cr, in, totalPages);
    cairo_show_page(cr);
    const cairo_status_t st = cairo_status(cr);
    c.reset();
    cairo_surface_finish(surface);
    if (st != CAIRO_STATUS_SUCCESS || cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS)
        return fail(ErrorCode::Internal, "could not draw the PDF report",
                    cairo_status_to_string(
                        st != CAIRO_STATUS_SUCCESS ? st : cairo_surface_status(surface)));
    return pages;
}

} // namespace

Result<ReportSummary> writePlanReport(const model::Plan& plan, const model::DeviceCatalog& catalog,
                                      const planning::PlanEvaluation* evaluation,
                                      const ReportOptions& options,
                                      const std::filesystem::path& pdf) {
    ReportSummary summary;
    Images images;
    for (const ReportImage& ri : options.images) {
        std::error_code ec;
        if (!std::filesystem::is_regular_file(ri.png, ec))
            return fail(ErrorCode::NotFound,
                        fmt::format("report image {}: no such file", ri.png.string()));
        cairo_surface_t* img = cairo_image_surface_create_from_png(ri.png.c_str());
        if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
            const std::string why = cairo_status_to_string(cairo_surface_status(img));
            cairo_surface_destroy(img);
            return fail(ErrorCode::ParseError,
                        fmt::format("report image {}: not a readable PNG", ri.png.string()), why);
        }
        images.loaded.emplace_back(img, ri.caption);
    }
    for (const auto& t : plan.trajectories) {
        if (!catalog.find(t.deviceId))
            summary.warnings.push_back(fmt::format("trajectory '{}': device '{}' is not in the "
                                                   "catalogue; its dimensions are not reported",
                                                   t.name, t.deviceId));
        if (evaluation && !findEvaluation(evaluation, t.name))
            summary.warnings.push_back(fmt::format(
                "trajectory '{}' has no evaluation: reported as not evaluated", t.name));
    }
    const Input in{plan,    catalog, evaluation,
                   options, images,  options.date.empty() ? today() : options.date};
    // Two passes: the first only counts pages, so every footer can say "page i of n".
    std::string scratch;
    auto pages = renderPdf(in, 0, scratch);
    if (!pages) return std::unexpected(pages.error());
    std::string bytes;
    auto final = renderPdf(in, *pages, bytes);
    if (!final) return std::unexpected(final.error());
    if (auto w = writeFileAtomically(pdf, bytes); !w) return std::unexpected(w.error());
    summary.pages = *final;
    return summary;
}

} // namespace precis::exporting
