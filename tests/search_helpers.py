import re


def result_slugs(html):
    return re.findall(r'data-article="([^"]+)"', html)


def result_count(html):
    return int(re.search(r'data-result-count="(\d+)"', html).group(1))
