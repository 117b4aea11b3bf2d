# precis_add_shaders(TARGET name SOURCES a.vert b.frag ...)
# Compiles GLSL to SPIR-V with glslc at build time (a shader error fails the build) and emits each
# module as a C initializer list (<file>.spv.inc) that the renderer embeds, so the binary needs no
# shader files at run time. Creates an INTERFACE library `name` whose include dir holds the .inc files.
function(precis_add_shaders)
  cmake_parse_arguments(ARG "" "TARGET" "SOURCES" ${ARGN})
  set(outdir ${CMAKE_CURRENT_BINARY_DIR}/spirv)
  file(MAKE_DIRECTORY ${outdir})
  set(outputs)
  foreach(src ${ARG_SOURCES})
    get_filename_component(name ${src} NAME)
    set(out ${outdir}/${name}.spv.inc)
    add_custom_command(
      OUTPUT ${out}
      COMMAND Vulkan::glslc --target-env=vulkan1.2 -O -mfmt=c -MD -MF ${out}.d
              -o ${out} ${CMAKE_CURRENT_SOURCE_DIR}/${src}
      DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${src}
      DEPFILE ${out}.d
      COMMENT "glslc ${name}"
      VERBATIM)
    list(APPEND outputs ${out})
  endforeach()
  add_custom_target(${ARG_TARGET}_spirv DEPENDS ${outputs})
  add_library(${ARG_TARGET} INTERFACE)
  add_dependencies(${ARG_TARGET} ${ARG_TARGET}_spirv)
  target_include_directories(${ARG_TARGET} INTERFACE ${outdir})
endfunction()
