# precis_warnings(target): the project's warning set; errors when PRECIS_WERROR is on (CI preset).
function(precis_warnings target)
  target_compile_options(${target} PRIVATE
    -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wcast-align -Woverloaded-virtual
    -Wnull-dereference -Wimplicit-fallthrough -Wno-missing-field-initializers)
  if(PRECIS_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
