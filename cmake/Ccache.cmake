# Use ccache when it is installed: rebuilds on 2 cores are otherwise slow.
find_program(PRECIS_CCACHE ccache)
if(PRECIS_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  set(CMAKE_C_COMPILER_LAUNCHER ${PRECIS_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${PRECIS_CCACHE})
  message(STATUS "ccache: ${PRECIS_CCACHE}")
endif()
