/* PNG decode and encode through libpng's classic API, with setjmp-guarded error handling. */
#include "rorem_codecs.h"
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *data;
    size_t size;
    size_t offset;
    char *error;
} png_reader;

static void ro_png_error(png_structp png, png_const_charp message) {
    png_reader *r = (png_reader *)png_get_error_ptr(png);
    if (r && r->error) snprintf(r->error, 256, "%s", message);
    png_longjmp(png, 1);
}

static void ro_png_warning(png_structp png, png_const_charp message) {
    (void)png; (void)message; /* warnings (e.g. bad checksums in ancillary chunks) are not fatal */
}

static void ro_png_read(png_structp png, png_bytep out, png_size_t count) {
    png_reader *r = (png_reader *)png_get_io_ptr(png);
    if (count > r->size - r->offset) {
        png_error(png, "file is truncated");
    }
    memcpy(out, r->data + r->offset, count);
    r->offset += count;
}

int rorem_png_decode(const uint8_t *data, size_t size, long max_side, long max_pixels,
                     rorem_image_info *info, void **pixels) {
    memset(info, 0, sizeof(*info));
    info->orientation = 1;
    *pixels = NULL;
    if (size < 8 || png_sig_cmp(data, 0, 8) != 0) {
        snprintf(info->error, sizeof(info->error), "missing PNG signature");
        return RO_CORRUPT;
    }
    png_reader reader = { data, size, 0, info->error };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &reader, ro_png_error, ro_png_warning);
    if (!png) { snprintf(info->error, sizeof(info->error), "out of memory"); return RO_NO_MEMORY; }
    png_infop pinfo = png_create_info_struct(png);
    if (!pinfo) {
        png_destroy_read_struct(&png, NULL, NULL);
        snprintf(info->error, sizeof(info->error), "out of memory");
        return RO_NO_MEMORY;
    }
    void *volatile buffer = NULL;
    png_bytep *volatile rows = NULL;
    volatile int status = RO_CORRUPT;
    if (setjmp(png_jmpbuf(png))) {
        free(buffer);
        free(rows);
        png_destroy_read_struct(&png, &pinfo, NULL);
        return status;
    }
    png_set_read_fn(png, &reader, ro_png_read);
    /* Lift libpng's own size limit so that the check below reports an oversized header as such. */
    png_set_user_limits(png, 0x7fffffffu, 0x7fffffffu);
    png_set_chunk_malloc_max(png, 64u << 20);
    png_read_info(png, pinfo);

    png_uint_32 width = 0, height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, pinfo, &width, &height, &bit_depth, &color_type, &interlace, NULL, NULL);
    if ((long)width * (long)height > max_pixels || (long)width > max_side || (long)height > max_side) {
        snprintf(info->error, sizeof(info->error), "header claims %ux%u pixels", width, height);
        info->width = (int)width; info->height = (int)height;
        status = RO_TOO_LARGE;
        png_longjmp(png, 1);
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    int has_trns = png_get_valid(png, pinfo, PNG_INFO_tRNS) != 0;
    if (has_trns) png_set_tRNS_to_alpha(png);
    /* Gray with alpha (stored or from tRNS) becomes RGBA: rorem images have 1, 3 or 4 channels. */
    if (color_type == PNG_COLOR_TYPE_GRAY_ALPHA || (color_type == PNG_COLOR_TYPE_GRAY && has_trns)) png_set_gray_to_rgb(png);
    if (bit_depth == 16) png_set_swap(png); /* PNG is big-endian; hand back native (little-endian) samples */
    info->interlaced = interlace != PNG_INTERLACE_NONE;
    png_set_interlace_handling(png);
    png_read_update_info(png, pinfo);
    int channels = png_get_channels(png, pinfo);
    int depth = png_get_bit_depth(png, pinfo);
    if (!(channels == 1 || channels == 3 || channels == 4) || !(depth == 8 || depth == 16)) {
        snprintf(info->error, sizeof(info->error), "unexpected layout: %d channels at %d bits", channels, depth);
        status = RO_UNSUPPORTED;
        png_longjmp(png, 1);
    }
    size_t rowbytes = png_get_rowbytes(png, pinfo);
    if (rowbytes != (size_t)width * (size_t)channels * (size_t)(depth / 8)) {
        snprintf(info->error, sizeof(info->error), "unexpected row size");
        status = RO_UNSUPPORTED;
        png_longjmp(png, 1);
    }
    buffer = malloc(rowbytes * height);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * height);
    if (!buffer || !rows) {
        snprintf(info->error, sizeof(info->error), "out of memory for %ux%u pixels", width, height);
        status = RO_NO_MEMORY;
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = (png_bytep)buffer + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    info->width = (int)width;
    info->height = (int)height;
    info->channels = channels;
    info->bit_depth = depth;
    free(rows);
    png_destroy_read_struct(&png, &pinfo, NULL);
    *pixels = buffer;
    return RO_OK;
}

typedef struct {
    uint8_t *data;
    size_t size;
    size_t capacity;
    int failed;
    char *error;
} png_writer;

static void ro_png_write(png_structp png, png_bytep bytes, png_size_t count) {
    png_writer *w = (png_writer *)png_get_io_ptr(png);
    if (w->size + count > w->capacity) {
        size_t capacity = w->capacity ? w->capacity * 2 : 65536;
        while (capacity < w->size + count) capacity *= 2;
        uint8_t *grown = (uint8_t *)realloc(w->data, capacity);
        if (!grown) { w->failed = 1; png_error(png, "out of memory while encoding"); }
        w->data = grown;
        w->capacity = capacity;
    }
    memcpy(w->data + w->size, bytes, count);
    w->size += count;
}

static void ro_png_flush(png_structp png) { (void)png; }

static void ro_png_write_error(png_structp png, png_const_charp message) {
    png_writer *w = (png_writer *)png_get_error_ptr(png);
    if (w && w->error) snprintf(w->error, 256, "%s", message);
    png_longjmp(png, 1);
}

int rorem_png_encode(const void *pixels, int width, int height, int channels, int bit_depth,
                     uint8_t **out, size_t *out_size, char *error, size_t error_size) {
    *out = NULL;
    *out_size = 0;
    char message[256] = {0};
    if (width <= 0 || height <= 0 || !(channels == 1 || channels == 3 || channels == 4) ||
        !(bit_depth == 8 || bit_depth == 16)) {
        snprintf(error, error_size, "invalid PNG layout %dx%d, %d channels, %d bits", width, height, channels, bit_depth);
        return RO_UNSUPPORTED;
    }
    png_writer writer = { NULL, 0, 0, 0, message };
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &writer, ro_png_write_error, ro_png_warning);
    if (!png) { snprintf(error, error_size, "out of memory"); return RO_NO_MEMORY; }
    png_infop pinfo = png_create_info_struct(png);
    png_bytep *volatile rows = NULL;
    if (!pinfo || setjmp(png_jmpbuf(png))) {
        free(rows);
        free(writer.data);
        png_destroy_write_struct(&png, pinfo ? &pinfo : NULL);
        snprintf(error, error_size, "%s", message[0] ? message : "PNG encoding failed");
        return RO_CORRUPT;
    }
    int color_type = channels == 1 ? PNG_COLOR_TYPE_GRAY : channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA;
    png_set_write_fn(png, &writer, ro_png_write, ro_png_flush);
    png_set_IHDR(png, pinfo, (png_uint_32)width, (png_uint_32)height, bit_depth, color_type,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_compression_level(png, 6);
    png_write_info(png, pinfo);
    if (bit_depth == 16) png_set_swap(png);
    size_t rowbytes = (size_t)width * (size_t)channels * (size_t)(bit_depth / 8);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (size_t)height);
    if (!rows) png_error(png, "out of memory");
    for (int y = 0; y < height; y++) rows[y] = (png_bytep)pixels + (size_t)y * rowbytes;
    png_write_image(png, rows);
    png_write_end(png, NULL);
    free(rows);
    png_destroy_write_struct(&png, &pinfo);
    *out = writer.data;
    *out_size = writer.size;
    return RO_OK;
}

void rorem_free(void *buffer) { free(buffer); }
