#!/usr/bin/env bash
# Installs every Debian 12 package Precis needs to build, run and test. Idempotent, non-interactive.
# Usage: scripts/setup.sh            (install only)
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config
  # engine libraries
  libfmt-dev libglm-dev nlohmann-json3-dev libpng-dev libtbb-dev
  libdcmtk-dev dcmtk libopenjp2-7-dev
  libassimp-dev libmeshoptimizer-dev
  # rendering: Vulkan headers/loader, shader compiler, CPU driver (lavapipe), validation layers
  libvulkan-dev glslc mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  # application shell
  libglfw3-dev libimgui-dev
  # tests: GoogleTest, virtual X server, screenshot tool, DICOM validator
  libgtest-dev libgmock-dev xvfb x11-apps xdotool imagemagick dicom3tools
  # PACS peer for the query/retrieve integration tests (runs in the foreground, no service)
  orthanc
  # the independent pydicom geometry reference (../shared/peers/dicom_truth) used by tests
  python3-pydicom python3-numpy
  # lets pydicom decode JPEG 2000 (Pillow's OpenJPEG) so dicom_truth.py gives HU ranges for J2K series
  python3-pil
  # benchmark peer: precis bench load compares with dcm2niix on the same series
  dcm2niix
  # export: OpenIGTLink (protocol 2) to navigation systems, the PDF report (cairo, with the
  # DejaVu fonts it draws in)
  libopenigtlink-dev libcairo2-dev fonts-dejavu-core
  # export tests: open and render the report (pdfinfo, pdftoppm, pdftotext), check Slicer
  # markups against their JSON schema
  poppler-utils python3-jsonschema
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present" >&2
fi
