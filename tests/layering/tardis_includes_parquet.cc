// Layering probe (tests/CMakeLists.txt): compiled with the include path of mt_tardis, it must
// fail, because the CSV parser's component does not depend on the Parquet writer.
#include "parquet/file_writer.h"
