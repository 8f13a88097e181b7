"""URL table in moto's layout: every DevOps Guru path is served by one dispatcher."""
from scanner.simulator.devopsguru.responses import DevOpsGuruResponse

url_bases = [r"https?://devops-guru\.(.+)\.amazonaws\.com"]

url_paths = {
    "{0}/service-integrations$": DevOpsGuruResponse.dispatch,
    "{0}/resource-collections$": DevOpsGuruResponse.dispatch,
    "{0}/resource-collections/(?P<ResourceCollectionType>[^/]+)$": DevOpsGuruResponse.dispatch,
    "{0}/channels$": DevOpsGuruResponse.dispatch,
    "{0}/channels/(?P<Id>[^/]+)$": DevOpsGuruResponse.dispatch,
    "{0}/accounts/health$": DevOpsGuruResponse.dispatch,
}
