// Layering probe (tests/CMakeLists.txt): compiled with the include path of mt_tardis, it must
// compile; the control that shows the path given to the failing probe is the component's own.
#include "tardis/csv_parser.h"
