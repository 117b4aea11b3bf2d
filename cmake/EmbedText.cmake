# cmake -DIN=file -DOUT=file.inc -P EmbedText.cmake: writes the file as a C++ raw string literal
# (R"precis( ... )precis") so data in assets/ can be compiled in without being code.
file(READ ${IN} content)
file(WRITE ${OUT} "R\"precis(${content})precis\"\n")
