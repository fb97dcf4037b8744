# The curated warning list, in one place (curl's PickyWarnings.cmake).
set(ROAM_WARNINGS
    -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes
    -Wpointer-arith -Wcast-qual -Wwrite-strings -Wformat=2
    -Wimplicit-fallthrough -Wvla -Wundef)
if(WERROR)
    list(APPEND ROAM_WARNINGS -Werror)
endif()
