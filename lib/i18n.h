/*
 * i18n.h - message translation. Messages are written in English in the code
 * and translated through gettext (domain "mamori", catalogs po/<lang>.po).
 * mamori_library_init() binds the domain; front ends call setlocale first.
 */
#ifndef MAMORI_I18N_H
#define MAMORI_I18N_H

#include <libintl.h>

#ifndef LOCALEDIR
#define LOCALEDIR "/usr/local/share/locale"
#endif

#define MAMORI_TEXTDOMAIN "mamori"
#define _(s) dgettext(MAMORI_TEXTDOMAIN, s)
#define N_(s) (s)
#define NG_(s, p, n) dngettext(MAMORI_TEXTDOMAIN, s, p, n)

/* Binds the text domain to dir (NULL: the compiled-in LOCALEDIR, or
 * "<directory of the running program>/locale" when that exists, so a build
 * tree runs translated without installing). */
void i18n_bind(const char *dir);

#endif
