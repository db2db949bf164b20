/* rorem's PNG and JPEG codec core.
 *
 * libpng and libjpeg report errors with longjmp, which Swift cannot catch; these functions wrap each library call
 * sequence in setjmp so that a corrupt, truncated or hostile file becomes an error code and a message, never a crash.
 * Dimensions are checked against the caller's limits before any pixel buffer is allocated.
 */
#ifndef RO_REM_CODECS_H
#define RO_REM_CODECS_H
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int width;
    int height;
    int channels;      /* 1 (gray), 3 (RGB) or 4 (RGBA) */
    int bit_depth;     /* 8 or 16; 16-bit samples are native-endian uint16 */
    int orientation;   /* EXIF orientation 1...8 (JPEG only; 1 when absent) */
    int interlaced;    /* PNG Adam7 or progressive JPEG */
    char error[256];   /* set when a function returns non-zero */
} rorem_image_info;

/* Return codes. */
enum { RO_OK = 0, RO_CORRUPT = 1, RO_TOO_LARGE = 2, RO_NO_MEMORY = 3, RO_UNSUPPORTED = 4 };

/* Decodes a PNG held in memory. On RO_OK, *pixels is a malloc'd buffer of width*height*channels samples
 * (bytes or uint16, see bit_depth) that the caller frees with rorem_free. Palette, low-bit gray and tRNS are
 * expanded; gray+alpha becomes RGBA; interlaced files are de-interlaced. */
int rorem_png_decode(const uint8_t *data, size_t size, long max_side, long max_pixels,
                     rorem_image_info *info, void **pixels);

/* Encodes width*height*channels samples (channels 1, 3 or 4; bit_depth 8 or 16, native-endian uint16) as PNG.
 * On RO_OK, *out is a malloc'd buffer of *out_size bytes. */
int rorem_png_encode(const void *pixels, int width, int height, int channels, int bit_depth,
                     uint8_t **out, size_t *out_size, char *error, size_t error_size);

/* Decodes a baseline or progressive JPEG held in memory to 8-bit gray (1) or RGB (3); CMYK is converted to RGB.
 * info->orientation receives the EXIF orientation (not applied). A file that ends early is an error. */
int rorem_jpeg_decode(const uint8_t *data, size_t size, long max_side, long max_pixels,
                      rorem_image_info *info, uint8_t **pixels);

/* Encodes 8-bit gray (1) or RGB (3) at quality 1...100. */
int rorem_jpeg_encode(const uint8_t *pixels, int width, int height, int channels, int quality,
                      uint8_t **out, size_t *out_size, char *error, size_t error_size);

/* Frees a buffer returned by the functions above. */
void rorem_free(void *buffer);

#endif
