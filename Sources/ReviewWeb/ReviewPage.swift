import Support

/// The browser review's HTML pages. Every value is escaped with ``HTML/escape(_:)``; the page's script and style
/// are served by the same server (`/app.js`, `/app.css`), so nothing is fetched from another host.
enum ReviewPage {
    /// The review page for `reviewer`; the script reads the name and the token from the body's data attributes.
    static func reviewPage(reviewer: String, token: String) -> String {
        let name = HTML.escape(reviewer)
        return """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <meta name="review-token" content="\(HTML.escape(token))">
        <title>rorem review: \(name)</title>
        <link rel="stylesheet" href="/app.css">
        <script src="/app.js" defer></script>
        </head>
        <body data-reviewer="\(name)">
        <header>
          <h1>rorem review</h1>
          <span class="who">reviewer <b id="reviewer">\(name)</b></span>
          <span id="progress" class="progress">loading...</span>
          <div class="bar"><div id="bar-fill"></div></div>
        </header>
        <main>
          <section id="stage">
            <div id="title" class="title"></div>
            <div id="notice" class="notice" hidden></div>
            <div class="panels">
              <figure><img id="img-source" alt="source"><figcaption>source</figcaption></figure>
              <figure><canvas id="canvas-overlay"></canvas><figcaption>mask over the source</figcaption></figure>
              <figure><img id="img-result" alt="result"><figcaption>result</figcaption></figure>
            </div>
            <div class="panels lower">
              <figure><canvas id="zoom-source"></canvas><figcaption>zoom on the mask: source, mask outlined</figcaption></figure>
              <figure><canvas id="zoom-result"></canvas><figcaption>zoom on the mask: result</figcaption></figure>
              <div class="keys">
                <button id="btn-accept" class="accept" type="button"><kbd>A</kbd> accept</button>
                <button id="btn-reject" class="reject" type="button"><kbd>R</kbd> reject</button>
                <button id="btn-skip" class="skip" type="button"><kbd>S</kbd> skip</button>
                <button id="btn-undo" class="undo" type="button"><kbd>U</kbd> undo</button>
                <button id="btn-back" class="back" type="button" hidden><kbd>Esc</kbd> back to the queue</button>
                <p class="help"><kbd>a</kbd>/<kbd>y</kbd> accept, <kbd>r</kbd>/<kbd>n</kbd> reject, <kbd>s</kbd>/<kbd>space</kbd> skip,
                  <kbd>u</kbd> undo the last decision. Click a decision on the right to revisit it. Each decision is saved
                  before the next candidate shows.</p>
              </div>
            </div>
            <img id="img-mask" alt="" hidden>
          </section>
          <aside>
            <h2>Agreement</h2>
            <table id="agreement"><thead><tr><th>between</th><th>n</th><th>agree</th><th>kappa</th></tr></thead><tbody></tbody></table>
            <p id="agreement-empty" class="muted">no candidate decided by two annotators yet</p>
            <h2>Your decisions</h2>
            <ol id="decisions" reversed></ol>
          </aside>
        </main>
        </body>
        </html>
        """
    }

    /// The form that asks for a name (`?by=`), with `error` above it when the last one was refused.
    static func namePage(error: String?) -> String {
        let message = error.map { "<p class=\"error\">\(HTML.escape($0))</p>" } ?? ""
        return """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>rorem review</title>
        <link rel="stylesheet" href="/app.css">
        </head>
        <body class="start">
        <form method="get" action="/">
          <h1>rorem review</h1>
          \(message)
          <label>Your name <input name="by" maxlength="\(ReviewerName.maxLength)" autofocus required></label>
          <button type="submit">Start reviewing</button>
          <p class="muted">Each reviewer has their own queue and resumes where they stopped; bookmark /?by=YOUR_NAME.</p>
        </form>
        </body>
        </html>
        """
    }

    /// An error page with `status` and `message`.
    static func errorPage(status: Int, message: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>rorem review: \(status)</title><link rel="stylesheet" href="/app.css"></head>
        <body class="start"><div class="box"><h1>\(status)</h1><p class="error">\(HTML.escape(message))</p><p><a href="/">start page</a></p></div></body></html>
        """
    }
}
