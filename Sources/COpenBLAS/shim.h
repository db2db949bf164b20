/* Debian's libopenblas-dev installs cblas.h under an alternatives path; the include path is set in Package.swift. */
#include <cblas.h>
